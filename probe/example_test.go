package probe_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"
	"time"

	"nucleus/probe"
	"nucleus/state"
)

// Probe a container by the host PID of its init, as kubelet would probe a
// pod: an HTTP GET to its own loopback, made from inside its network
// namespace without starting any process.
func ExampleRunProbe() {
	pid := 4242 // the container's init as the host sees it, e.g. from `runc state`
	res, err := probe.RunProbe(pid, probe.HTTP{Port: 8080, Path: "/healthz"}, time.Second)
	if err != nil {
		// Unknown: the probe could not run (gone, permission, gVisor...).
		log.Printf("probe error (%v): %v", res.Status, err)
		return
	}
	fmt.Println(res.Status, res.Reason, res.Duration)
}

// An exec probe runs a hardened command inside the container; a non-zero
// exit is a Failure with the exit code and up to 10 KiB of output.
func ExampleRunProbe_exec() {
	res, err := probe.RunProbe(4242, probe.Exec{Command: []string{"pg_isready", "-q"}}, 2*time.Second)
	if err != nil {
		log.Print(err)
		return
	}
	if !res.Healthy() {
		fmt.Printf("unhealthy: %s (exit %d): %s\n", res.Reason, res.ExitCode, res.Output)
	}
}

// Watch many containers with kubelet's defaults (every 10 s, 1 s timeout,
// unhealthy after 3 failures) and react to health changes.
func ExampleMonitor() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var targets []probe.Target
	for _, id := range []string{"web-1", "web-2"} {
		st, err := state.Load(state.DefaultDir(), id)
		if err != nil {
			log.Print(err)
			continue
		}
		targets = append(targets, probe.Target{Name: id, State: st, Probe: probe.TCP{Port: 80}})
	}
	m := probe.NewMonitor(probe.MonitorConfig{
		OnTransition: func(tr probe.Transition) {
			log.Printf("%s: %v → %v (%s)", tr.Target, tr.From, tr.To, tr.Result.Reason)
		},
	}, targets...)
	if err := m.Run(ctx); err != nil {
		log.Print(err)
	}
}
