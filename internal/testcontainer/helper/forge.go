package main

import (
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// A process started with argv[0] "runsc-sandbox" (`exec -a runsc-sandbox
// nucleus-testhelper --root=R boot ID` in a test container) only sits
// there: it is the hostile container of the gVisor redirect tests, whose
// command line claims to be the supervisor of another container's sandbox
// (a process chooses its own argv). It never reaches main, whose dispatch
// would refuse the forged arguments.
func init() {
	if path.Base(os.Args[0]) != "runsc-sandbox" {
		return
	}
	for {
		_ = unix.Pause()
	}
}
