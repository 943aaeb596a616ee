package main

import (
	"io"
	"os"
)

// pipedStdio returns nsattach's stdin, stdout and stderr as a plain reader
// and writers, so that the library copies them through pipes and the
// command never holds an fd of nsattach's own (what `docker exec` without
// -t does). Handed over as they are, they would be reachable from the
// container through /proc/<command>/fd/N — and when they are the user's
// terminal, a container process with CAP_SYS_ADMIN could type into the
// user's shell with TIOCSTI. With -t the command gets a new pseudo-terminal
// instead.
func pipedStdio() (io.Reader, io.Writer, io.Writer) {
	return struct{ io.Reader }{os.Stdin}, struct{ io.Writer }{os.Stdout}, struct{ io.Writer }{os.Stderr}
}
