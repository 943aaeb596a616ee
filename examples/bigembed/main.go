// Command bigembed is a program that embeds nucleus/attach and, built with
// -tags bigembed, carries 50 MiB more in its binary (padding.go): it shows
// that what an attach costs does not grow with the embedder's size, because
// the child is executed through a read-only overlay view of the binary
// rather than a copy of it (internal/launch, exe_overlay.go).
//
//	bigembed -pid P          one attach of /bin/true to process P, then exit
//	bigembed -pid P -n N     N attaches from this one process; prints the mean
//
// The first form is what every short-lived program pays (one-shot), the
// second what a long-lived one pays per attach (in-process). Both print
// which executable view the child ran from. Benchmarked against each other
// by BenchmarkBigEmbed (bench_test.go).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"nucleus/attach"
	"nucleus/internal/launch"
	"nucleus/state"
)

func main() {
	pid := flag.Int("pid", 0, "process whose container to attach to")
	n := flag.Int("n", 0, "attaches to time in this process (0: one attach, nothing printed)")
	flag.Parse()
	if err := run(*pid, *n); err != nil {
		fmt.Fprintln(os.Stderr, "bigembed:", err)
		os.Exit(1)
	}
}

func run(pid, n int) error {
	keep(len(os.Args))
	st, err := state.FromPID(pid)
	if err != nil {
		return err
	}
	once := func() error {
		code, err := attach.Attach(st, []string{"/bin/true"}, attach.WithStdio(nil, nil, nil))
		if err == nil && code != 0 {
			err = fmt.Errorf("/bin/true exited with %d", code)
		}
		return err
	}
	if err := once(); err != nil || n < 1 {
		return err
	}
	start := time.Now()
	for range n {
		if err := once(); err != nil {
			return err
		}
	}
	view, err := launch.CurrentExeView()
	if err != nil {
		return err
	}
	fmt.Printf("view %s, padding %d bytes\nattach: mean %d ns over %d\n", view, paddingSize(), (time.Since(start) / time.Duration(n)).Nanoseconds(), n)
	return nil
}
