// Package enginetest holds what the tests of nucleus/state/engine and of
// its gRPC sources (containerd, cri) share: the busybox image of every
// engine, lookups that fail the test, and the comparison of attach by name
// with an engine's own exec.
package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/probe"
	"nucleus/state"
	"nucleus/state/engine"
)

// image builds the rootfs tar of the engine tests once per test binary.
var (
	imageOnce sync.Once
	imageDir  string
	imageTar  string
	imageErr  error
)

// Main runs a test binary's tests and removes the image afterwards.
func Main(m *testing.M) int {
	code := m.Run()
	if imageDir != "" {
		os.RemoveAll(imageDir)
	}
	return code
}

// RootfsTar returns the busybox rootfs tar of every engine image.
func RootfsTar(t *testing.T) string {
	t.Helper()
	testcontainer.RequireRoot(t)
	imageOnce.Do(func() {
		if imageDir, imageErr = os.MkdirTemp("", "nucleus-engine-image-"); imageErr == nil {
			imageTar, imageErr = testcontainer.RootfsTar(imageDir)
		}
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageTar
}

// ExecFunc is an engine's own exec: flags (such as -u 1000), then argv.
type ExecFunc func(flags []string, args ...string) (testcontainer.ExecResult, error)

// Find looks name up and fails the test on error.
func Find(t *testing.T, name string, opts ...engine.Option) *state.ContainerState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := engine.Find(ctx, name, opts...)
	if err != nil {
		t.Fatalf("Find(%q): %v", name, err)
	}
	return st
}

// AttachOut attaches argv to st and returns its stdout and exit code.
func AttachOut(t *testing.T, st *state.ContainerState, id *state.ProcessIdentity, argv ...string) testcontainer.ExecResult {
	t.Helper()
	var out bytes.Buffer
	opts := []attach.Option{attach.WithStdio(nil, &out, nil)}
	if id != nil {
		opts = append(opts, attach.WithIdentity(*id))
	}
	code, err := attach.Attach(st, argv, opts...)
	if err != nil {
		t.Fatalf("attach %q: %v", argv, err)
	}
	return testcontainer.ExecResult{Stdout: out.String(), Code: code}
}

// SortedLines sorts env output, whose order no engine promises.
func SortedLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// CompareWithEngine checks that attach by name gives what the engine's own
// exec gives, for hostname, id, env (the image's ENV included), an exit
// code, and -u 1000; then that exec, TCP and HTTP probes by name succeed.
// CRI's ExecSync has no user: withUser false leaves that case out.
func CompareWithEngine(t *testing.T, st *state.ContainerState, engineExec ExecFunc, withUser bool) {
	t.Helper()
	cases := []struct {
		name  string
		flags []string
		argv  []string
		id    *state.ProcessIdentity
		sort  bool
	}{
		{name: "hostname", argv: []string{"hostname"}},
		{name: "id", argv: []string{"id"}},
		{name: "env", argv: []string{"env"}, sort: true},
		{name: "exit code", argv: []string{"sh", "-c", "exit 42"}},
		// The identity `-u 1000` resolves to in the image (/etc/passwd:
		// gid 1000; /etc/group: grp2000), given to attach as such: the
		// resolution itself is the CLI's (examples/nsattach TestByName).
		// Docker lists the primary gid among the supplementary groups,
		// Podman does not; the identity is the same (uid, gid, the other
		// groups), so the groups are compared without the primary gid.
		{name: "user 1000", flags: []string{"-u", "1000"}, argv: []string{"sh", "-c", "id -u; id -g; id -G"},
			id: &state.ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}}},
	}
	if !withUser {
		cases = cases[:len(cases)-1]
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := engineExec(c.flags, c.argv...)
			if err != nil {
				t.Fatal(err)
			}
			got := AttachOut(t, st, c.id, c.argv...)
			if c.id != nil {
				want.Stdout, got.Stdout = otherGroups(want.Stdout), otherGroups(got.Stdout)
			}
			if c.sort {
				want.Stdout, got.Stdout = SortedLines(want.Stdout), SortedLines(withoutHostname(got.Stdout, want.Stdout))
			}
			if got != want {
				t.Errorf("attach %q = %+v; the engine's exec %+v", c.argv, got, want)
			}
		})
	}
	// The bundle Find returns is this container's: its process env is what
	// the engine's exec gets (the engine adds HOME when unset), the image's
	// ENV included. (attach takes its environment from it by default once
	// the process spec is inherited.)
	t.Run("bundle env", func(t *testing.T) {
		spec, err := st.BundleSpec()
		if err != nil {
			t.Fatal(err)
		}
		want, err := engineExec(nil, "env")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(want.Stdout), "\n")
		if !slices.Contains(spec.Process.Env, "FOO=bar") {
			t.Errorf("bundle env %q lacks the image's FOO=bar", spec.Process.Env)
		}
		for _, e := range spec.Process.Env {
			if !slices.Contains(lines, e) && e != withoutHostname(e, want.Stdout) {
				continue // podman exec leaves the init's HOSTNAME out
			}
			if !slices.Contains(lines, e) {
				t.Errorf("bundle env %q not in the engine's exec env %q", e, lines)
			}
		}
	})
	t.Run("probes", func(t *testing.T) {
		for _, p := range []probe.Probe{
			probe.Exec{Command: []string{"true"}},
			probe.TCP{Port: testcontainer.WebPort},
			probe.HTTP{Port: testcontainer.WebPort, Path: "/"},
		} {
			res, err := ProbeReady(st.PID, p)
			if err != nil || res.Status != probe.Success {
				t.Errorf("%s probe of %s: %+v, %v", p.Kind(), st.Name, res, err)
			}
		}
	})
}

// UniqueName names a container of this test process.
func UniqueName(kind string) string { return fmt.Sprintf("nucleus-%s-%d", kind, os.Getpid()) }

// withoutHostname drops the HOSTNAME line of env when engineEnv has none:
// Podman puts HOSTNAME in its containers' process env (config.json) but
// not in `podman exec`'s, which it builds from the image and --env; Docker
// and CRI give it to both.
func withoutHostname(env, engineEnv string) string {
	if strings.HasPrefix(engineEnv, "HOSTNAME=") || strings.Contains(engineEnv, "\nHOSTNAME=") {
		return env
	}
	var keep []string
	for _, l := range strings.Split(env, "\n") {
		if !strings.HasPrefix(l, "HOSTNAME=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// otherGroups rewrites the output of `id -u; id -g; id -G` with the
// supplementary groups sorted and without the primary gid.
func otherGroups(out string) string {
	l := strings.Split(strings.TrimSpace(out), "\n")
	if len(l) != 3 {
		return out
	}
	var groups []string
	for _, g := range strings.Fields(l[2]) {
		if g != l[1] {
			groups = append(groups, g)
		}
	}
	sort.Strings(groups)
	return l[0] + "\n" + l[1] + "\n" + strings.Join(groups, " ")
}

// ProbeReady runs p until it succeeds, for at most 20 s: the container's
// web server starts with the container, and may not listen yet on a
// loaded machine.
func ProbeReady(pid int, p probe.Probe) (probe.Result, error) {
	var res probe.Result
	var err error
	testutil.Within(20*time.Second, func() bool {
		res, err = probe.RunProbe(pid, p, 5*time.Second)
		return err == nil && res.Status == probe.Success
	})
	return res, err
}

// ListedOnce maps the ID of each container of a List to "engine:name",
// failing the test for a container listed twice.
func ListedOnce(t *testing.T, list []engine.Container) map[string]string {
	t.Helper()
	seen := map[string]string{}
	for _, ct := range list {
		if _, dup := seen[ct.ID]; dup {
			t.Errorf("List: %s listed twice", ct.ID)
		}
		seen[ct.ID] = string(ct.Engine) + ":" + ct.Name
	}
	return seen
}
