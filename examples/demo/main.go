// Command demo is nucleus's main job in one run: it starts a sandbox
// container, attaches to it, probes it, prints what happened and cleans up.
// It exits non-zero when anything did not go as it should.
//
//	sudo go run ./examples/demo
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"nucleus/attach"
	"nucleus/harden"
	"nucleus/internal/testcontainer"
	"nucleus/probe"
	"nucleus/state"
)

func main() {
	os.Exit(run())
}

func run() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root to start a container (sudo go run ./examples/demo)")
		return 1
	}
	fmt.Println("nucleus demo: starting a sandbox container (busybox rootfs, own namespaces and cgroups)")
	c, err := testcontainer.Start(testcontainer.Options{Hostname: "nucleus-demo", Port: 8080, Cgroup: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	defer c.Close()
	st, err := c.State()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	fmt.Printf("  container %s: init pid %d, rootfs %s\n\n", st.ID, st.PID, c.Rootfs)

	failed := 0
	failed += attachReport(st)
	failed += probeReport(st)
	if failed > 0 {
		fmt.Printf("\ndemo: %d check(s) failed\n", failed)
		return 1
	}
	fmt.Println("\ndemo: all checks passed; container cleaned up")
	return 0
}

// attachReport runs a command inside under the strict policy (the
// default gives the container's own confinement, which for this container
// is everything the demo's caller holds) and shows what it sees.
func attachReport(st *state.ContainerState) int {
	fmt.Println("attach (strict policy): sh -c '…' inside the container")
	script := `echo "hostname:   $(hostname)"
echo "identity:   $(id)"
echo "pid inside: $$"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | sed 's/^/status:     /'
echo "fds:        $(ls /proc/self/fd | tr '\n' ' ')"
echo "cwd:        $(pwd)"
(echo x > /etc/demo) 2>/dev/null && echo "write /etc:  allowed" || echo "write /etc:  denied (Landlock)"
unshare -U true 2>/dev/null && echo "unshare -U: allowed" || echo "unshare -U: denied (seccomp)"
exit 7`
	var out bytes.Buffer
	t0 := time.Now()
	code, err := attach.Attach(st, []string{"sh", "-c", script}, attach.WithStdio(nil, &out, &out), attach.WithPolicy(harden.StrictPolicy()))
	d := time.Since(t0)
	if err != nil {
		fmt.Println("  FAILED:", err)
		return 1
	}
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		fmt.Println("  " + line)
	}
	fmt.Printf("  exit code %d (want 7) in %v\n", code, d.Round(10*time.Microsecond))
	bad := 0
	for _, want := range []string{"hostname:   nucleus-demo", "NoNewPrivs:\t1", "Seccomp:\t2", "CapEff:\t0000000000000000",
		"write /etc:  denied", "unshare -U: denied"} {
		if !strings.Contains(out.String(), want) {
			fmt.Printf("  FAILED: output lacks %q\n", want)
			bad++
		}
	}
	if code != 7 {
		bad++
	}
	return bad
}

// probeReport runs each kind of probe and compares with what it should give.
func probeReport(st *state.ContainerState) int {
	fmt.Println("\nprobes:")
	cases := []struct {
		name string
		p    probe.Probe
		want probe.Status
	}{
		{"exec true", probe.Exec{Command: []string{"true"}}, probe.Success},
		{"exec 'echo sick; exit 3'", probe.Exec{Command: []string{"sh", "-c", "echo sick; exit 3"}}, probe.Failure},
		{"exec 'sleep 30' (timeout 300ms)", probe.Exec{Command: []string{"sleep", "30"}}, probe.Failure},
		{"tcp 8080", probe.TCP{Port: 8080}, probe.Success},
		{"tcp 9 (closed)", probe.TCP{Port: 9}, probe.Failure},
		{"http :8080/healthz", probe.HTTP{Port: 8080, Path: "/healthz"}, probe.Success},
		{"http :8080/status/404", probe.HTTP{Port: 8080, Path: "/status/404"}, probe.Failure},
	}
	bad := 0
	for _, tc := range cases {
		timeout := time.Second
		if strings.Contains(tc.name, "timeout") {
			timeout = 300 * time.Millisecond
		}
		r, err := probe.RunProbe(st.PID, tc.p, timeout)
		mark := "ok"
		if err != nil || r.Status != tc.want {
			mark = "FAILED"
			bad++
		}
		detail := r.Reason
		if detail == "" && len(r.Output) > 0 {
			detail = strings.TrimSpace(string(r.Output))
		}
		if err != nil {
			detail = err.Error()
		}
		fmt.Printf("  %-34s %-8s exit=%-3d %9v  %-6s %s\n", tc.name, r.Status, r.ExitCode, r.Duration.Round(10*time.Microsecond), mark, detail)
	}
	return bad
}
