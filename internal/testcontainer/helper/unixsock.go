package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

// unix-serve PATH listens on a UNIX socket at PATH and answers every
// connection with "pong\n": the socket of an application in a test image
// (busybox nc has no UNIX sockets). unix-dial PATH connects and copies the
// answer to stdout: the health check that talks to it.
func init() {
	commands["unix-serve"] = unixServe
	commands["unix-dial"] = unixDial
}

func unixServe(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: unix-serve PATH")
		return 2
	}
	_ = os.Remove(args[0])
	l, err := net.Listen("unix", args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "unix-serve:", err)
		return 1
	}
	// Any user of the container may connect, as applications' sockets
	// usually allow (connect needs write permission on the socket).
	if err := os.Chmod(args[0], 0o666); err != nil {
		fmt.Fprintln(os.Stderr, "unix-serve:", err)
		return 1
	}
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "unix-serve:", err)
			return 1
		}
		_, _ = io.WriteString(c, "pong\n")
		_ = c.Close()
	}
}

func unixDial(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: unix-dial PATH")
		return 2
	}
	c, err := net.Dial("unix", args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "unix-dial:", err)
		return 1
	}
	defer c.Close()
	if _, err := io.Copy(os.Stdout, c); err != nil {
		fmt.Fprintln(os.Stderr, "unix-dial:", err)
		return 1
	}
	return 0
}
