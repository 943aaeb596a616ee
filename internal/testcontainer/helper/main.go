// Command nucleus-testhelper is the static program that runs inside the test
// containers made by nucleus/internal/testcontainer: their PID 1 ("init"),
// the unprivileged launcher of rootless containers ("rootless-launch"), and
// whatever other subcommands tests register in this package.
//
// It is built with CGO_ENABLED=0 so that it runs in a rootfs that holds no
// libc. Subcommands register themselves in commands from an init function in
// their own file; main dispatches on os.Args[1].
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
)

// commands maps a subcommand name to its entry point, which gets the
// arguments after the name and returns the exit status. Files of this package
// add to it from init functions.
var commands = map[string]func(args []string) int{}

func init() {
	// Keep the main goroutine on the main thread. Some namespace changes
	// (unshare(CLONE_NEWCGROUP) in init) apply only to the calling thread,
	// and /proc/PID/ns/* shows the main thread's: they must be made there.
	runtime.LockOSThread()
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "nucleus-testhelper: unknown subcommand %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	os.Exit(cmd(os.Args[2:]))
}

func usage() {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: nucleus-testhelper SUBCOMMAND [ARGS...]\nsubcommands: %v\n", names)
}
