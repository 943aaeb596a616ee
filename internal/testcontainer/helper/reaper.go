package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

func init() { commands["reaper"] = reaperMain }

// reaperMain is PID 1 of a container made by an OCI runtime from a bundle
// (testcontainer.StartRunsc), which has set the container up already: it
// reaps orphans, which reparent to PID 1 of the pid namespace (a `sleep
// infinity` there would leave every orphan a zombie for good), serves HTTP
// on -listen ADDR when given (the handler of init's -port), and exits on
// SIGTERM.
func reaperMain(args []string) int {
	fs := flag.NewFlagSet("reaper", flag.ContinueOnError)
	listen := fs.String("listen", "", "serve HTTP on ADDR (host:port) when not empty")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM)
	signal.Ignore(unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGPIPE)
	if *listen != "" {
		if _, err := serveOn(*listen); err != nil {
			fmt.Fprintf(os.Stderr, "reaper: listen: %v\n", err)
			return 1
		}
	}
	reap() // orphans that exited before the handler was installed
	for sig := range sigs {
		if sig == unix.SIGTERM {
			return 0
		}
		reap()
	}
	return 0
}
