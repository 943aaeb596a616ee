package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func ct(engine Engine, name, id string) Container {
	return Container{Engine: engine, Name: name, ID: id, aliases: []string{id, name}}
}

// An exact name or ID wins over a prefix; a prefix must be unique; the
// errors list the candidates.
func TestMatch(t *testing.T) {
	all := []Container{
		ct(Docker, "web", "abc123"),
		ct(Docker, "db", "abd456"),
		ct(Podman, "abc", "ffe789"), // a name that is also a prefix of web's id
	}
	for q, want := range map[string]string{"web": "abc123", "abc123": "abc123", "abc1": "abc123", "abc": "ffe789", "ffe": "ffe789", "db": "abd456"} {
		c, err := match(q, all)
		if err != nil || c.ID != want {
			t.Errorf("match(%q) = %s, %v; want %s", q, c.ID, err, want)
		}
	}
	_, err := match("ab", all)
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 || !strings.Contains(err.Error(), "docker web (id abc123)") || !strings.Contains(err.Error(), "docker db (id abd456)") {
		t.Errorf("match(ab) = %v; want both docker containers listed", err)
	}
	_, err = match("zz", all)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("match(zz) = %v; want a NotFoundError", err)
	}
	// The same name in two engines is ambiguous too.
	_, err = match("web", append(all, ct(Podman, "web", "999")))
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Errorf("match(web) across engines = %v; want ambiguous", err)
	}
}

// A container several engines see is merged: the first engine names it,
// the others add aliases and roots.
func TestMerge(t *testing.T) {
	a := ct(Docker, "web", "abc")
	b := ct(Containerd, "moby/abc", "abc")
	b.PID = 42
	b.addRoot("runc", "/run/docker/runtime-runc/moby")
	a.merge(b)
	if a.Engine != Docker || a.Name != "web" || a.PID != 42 || a.RuntimeRoot != "/run/docker/runtime-runc/moby" || len(a.aliases) != 3 {
		t.Errorf("merged = %+v", a)
	}
}

// Ids that would leave the runtime root or read as flags are refused
// before any runtime runs.
func TestRuntimeStateRefusesBadIDs(t *testing.T) {
	for _, id := range []string{"", "../x", "a/b", "--help", "-x", ".."} {
		_, err := runtimeState(context.Background(), RuntimeRoot{Runtime: "runc", Dir: "/run/runc"}, id)
		if err == nil || !strings.Contains(err.Error(), "refusing container id") {
			t.Errorf("runtimeState(%q) = %v; want a refusal", id, err)
		}
	}
}

// An unprivileged caller naming root's engines is refused at once.
func TestRefuseForUnprivileged(t *testing.T) {
	old := euid
	euid = func() int { return 1000 }
	defer func() { euid = old }()
	for _, o := range []Option{WithDockerHost("unix:///var/run/docker.sock"), WithContainerdSocket("/run/containerd/containerd.sock"), WithCRISocket("/run/crio/crio.sock")} {
		if _, err := newConfig([]Option{o}); err == nil || !strings.Contains(err.Error(), "refused for uid 1000") {
			t.Errorf("newConfig = %v; want a refusal", err)
		}
	}
	c, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.sources {
		switch s.(type) {
		case *dockerSource, *linkedSource, *containerdRootSource:
			t.Errorf("unprivileged default config searches %s", s.name())
		}
	}
}

// Without nucleus/state/engine/cri and .../containerd linked (this test
// binary imports neither), naming CRI or containerd is an error that says
// which package to import; the defaults search containerd's runtime roots
// instead, and the engines' variables alone are no error.
func TestNotLinked(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		pkg  string
	}{
		{[]Option{WithEngines(CRI)}, "nucleus/state/engine/cri"},
		{[]Option{WithCRISocket("/run/crio/crio.sock")}, "nucleus/state/engine/cri"},
		{[]Option{WithEngines(Containerd)}, "nucleus/state/engine/containerd"},
		{[]Option{WithContainerdSocket("/run/containerd/containerd.sock")}, "nucleus/state/engine/containerd"},
	} {
		if _, err := newConfig(c.opts); err == nil || !strings.Contains(err.Error(), `import _ "`+c.pkg+`"`) {
			t.Errorf("newConfig = %v; want an error naming %s", err, c.pkg)
		}
	}
	t.Setenv("CONTAINERD_ADDRESS", "/run/containerd/containerd.sock")
	t.Setenv("CONTAINER_RUNTIME_ENDPOINT", "unix:///run/containerd/containerd.sock")
	c, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	var roots []string
	for _, s := range c.sources {
		switch s := s.(type) {
		case *linkedSource:
			t.Errorf("a gRPC source is searched without its package: %s", s.name())
		case *containerdRootSource:
			roots = append(roots, s.root.Dir)
		}
	}
	if want := []string{"/run/containerd/runc", "/run/containerd/runsc"}; !slices.Equal(roots, want) {
		t.Errorf("containerd runtime roots searched: %v; want %v", roots, want)
	}
}

// The bundle annotations of containerd's CRI plugin and CRI-O name a
// Kubernetes container; a pod sandbox and a container no CRI made are
// not named.
func TestKubeName(t *testing.T) {
	for _, c := range []struct {
		a    map[string]string
		want string
	}{
		{map[string]string{criContainerType: "container", criSandboxNamespace: "ns", criSandboxName: "web", criContainerName: "app"}, "ns/web/app"},
		{map[string]string{criContainerType: "sandbox", criSandboxNamespace: "ns", criSandboxName: "web"}, ""},
		{map[string]string{criContainerType: "container", criSandboxNamespace: "ns", criSandboxName: "web"}, ""},
		{map[string]string{criContainerType: "container", criSandboxNamespace: "n/s", criSandboxName: "web", criContainerName: "app"}, ""},
		{map[string]string{crioContainerType: "container", crioPodNamespace: "ns", crioPodName: "web", crioContainerName: "app"}, "ns/web/app"},
		{map[string]string{crioContainerType: "sandbox", crioPodNamespace: "ns", crioPodName: "web", crioContainerName: "POD"}, ""},
		{map[string]string{crioPodNamespace: "ns", crioPodName: "web", crioContainerName: "POD"}, ""},
		{map[string]string{"org.opencontainers.image.title": "x"}, ""},
		{nil, ""},
	} {
		if got, ok := kubeName(c.a); got != c.want || ok != (c.want != "") {
			t.Errorf("kubeName(%v) = %q, %v; want %q", c.a, got, ok, c.want)
		}
	}
}
