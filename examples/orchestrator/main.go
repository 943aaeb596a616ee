// Command orchestrator shows nucleus embedded in a small orchestrator: it
// starts a few sandbox containers, watches them with a probe.Monitor (an
// HTTP probe for each, an exec probe for one), breaks and repairs one of
// them, and prints the health transitions as they happen. It exits non-zero
// when a transition it expects does not come.
//
//	sudo go run ./examples/orchestrator
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"nucleus/internal/testcontainer"
	"nucleus/probe"
)

func main() {
	os.Exit(run())
}

func run() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "orchestrator: needs root to start containers")
		return 1
	}
	var targets []probe.Target
	var web []*testcontainer.Container
	for i := range 3 {
		c, err := testcontainer.Start(testcontainer.Options{Hostname: fmt.Sprintf("web-%d", i), Port: 8080})
		if err != nil {
			fmt.Fprintln(os.Stderr, "orchestrator:", err)
			return 1
		}
		defer c.Close()
		st, err := c.State()
		if err != nil {
			fmt.Fprintln(os.Stderr, "orchestrator:", err)
			return 1
		}
		web = append(web, c)
		targets = append(targets, probe.Target{Name: c.Hostname + "/http", State: st, Probe: probe.HTTP{Port: 8080, Path: "/healthz"}})
	}
	targets = append(targets, probe.Target{Name: "web-0/exec", State: targets[0].State,
		Probe: probe.Exec{Command: []string{"sh", "-c", "test -d /proc/1"}}})

	transitions := make(chan probe.Transition, 16)
	m := probe.NewMonitor(probe.MonitorConfig{
		Interval:         100 * time.Millisecond,
		Timeout:          500 * time.Millisecond,
		FailureThreshold: 2,
		SuccessThreshold: 1,
		OnTransition:     func(tr probe.Transition) { transitions <- tr },
	}, targets...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	t0 := time.Now()
	wait := func(what string, want func(probe.Transition) bool, n int) bool {
		deadline := time.After(10 * time.Second)
		for n > 0 {
			select {
			case tr := <-transitions:
				fmt.Printf("%7.3fs  %-12s %-9v → %-9v %s\n", time.Since(t0).Seconds(), tr.Target, tr.From, tr.To, tr.Result.Reason)
				if want(tr) {
					n--
				}
			case <-deadline:
				fmt.Printf("orchestrator: no %s within 10 s\n", what)
				return false
			}
		}
		return true
	}
	healthy := func(tr probe.Transition) bool { return tr.To == probe.Healthy }
	fmt.Printf("watching %d targets in %d containers\n", len(targets), len(web))
	if !wait("initial health", healthy, len(targets)) {
		return 1
	}
	fmt.Println("stopping web-1's listener")
	if err := web[1].StopListener(); err != nil {
		fmt.Fprintln(os.Stderr, "orchestrator:", err)
		return 1
	}
	if !wait("failure of web-1", func(tr probe.Transition) bool { return tr.Target == "web-1/http" && tr.To == probe.Unhealthy }, 1) {
		return 1
	}
	fmt.Println("starting web-1's listener again")
	if err := web[1].StartListener(); err != nil {
		fmt.Fprintln(os.Stderr, "orchestrator:", err)
		return 1
	}
	if !wait("recovery of web-1", func(tr probe.Transition) bool { return tr.Target == "web-1/http" && tr.To == probe.Healthy }, 1) {
		return 1
	}
	fmt.Println("orchestrator: every transition came; cleaning up")
	return 0
}
