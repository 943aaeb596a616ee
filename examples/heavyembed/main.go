// Command heavyembed is a program whose package initialisation takes 50 ms
// (package heavy) and that attaches to a container: it shows what such an
// embedder pays per attach. It starts a test container, attaches /bin/true
// -n times and prints the mean and median time of one attach.
//
//	sudo go run ./examples/heavyembed -n 20
//	sudo go run -tags heavyafter ./examples/heavyembed -n 20
//
// Both cost what an attach costs in a light program: the re-executed child
// is dispatched from nucleus/internal/child, which Go initialises before
// "time" (which package heavy imports), so the child never runs heavy's
// init. With the second command package heavy also imports nucleus/attach,
// which guarantees that order whatever heavy imports.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"nucleus/attach"
	"nucleus/examples/heavyembed/heavy"
	"nucleus/internal/testcontainer"
)

func main() {
	n := flag.Int("n", 20, "attaches to make")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "heavyembed:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root to start a container")
	}
	if n < 1 {
		return fmt.Errorf("-n must be at least 1")
	}
	c, err := testcontainer.Start(testcontainer.Options{Cgroup: true})
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.State()
	if err != nil {
		return err
	}
	once := func() (time.Duration, error) {
		t := time.Now()
		code, err := attach.Attach(st, []string{"/bin/true"}, attach.WithStdio(nil, nil, nil))
		d := time.Since(t)
		if err == nil && code != 0 {
			err = fmt.Errorf("/bin/true exited with %d", code)
		}
		return d, err
	}
	// The first attach also makes what is made once per process.
	if _, err := once(); err != nil {
		return err
	}
	times := make([]time.Duration, 0, n)
	var total time.Duration
	for range n {
		d, err := once()
		if err != nil {
			return err
		}
		times = append(times, d)
		total += d
	}
	slices.Sort(times)
	fmt.Printf("heavy init in this process: %v\n", heavy.Spun.Round(time.Millisecond))
	fmt.Printf("attach: mean %d ns, median %d ns over %d\n", (total / time.Duration(n)).Nanoseconds(), times[n/2].Nanoseconds(), n)
	return nil
}
