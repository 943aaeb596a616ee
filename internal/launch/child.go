package launch

import (
	"os"

	"github.com/moby/sys/reexec"

	"nucleus/internal/child"
)

// A command's grandchild never returns into Go (its constructor execs it);
// a copy worker's Go side lives in nucleus/internal/child, whose init
// dispatches it as soon as Go has initialised that package's few low-level
// imports — before this package and before the embedding program's packages
// (see that package's documentation). The entrypoint stays registered with
// reexec, so a program that calls reexec.Init() in main keeps working: for a
// nucleus grandchild that call is never reached.
//
// What reaches the registration below is a process started as a nucleus
// child whose constructor did not join (a CGO_ENABLED=0 build, which Start
// refuses anyway): it reports that it will not run anything.
func init() {
	reexec.Register(entrypoint, child.NotJoined)
	if len(os.Args) > 0 && os.Args[0] == entrypoint {
		reexec.Init()
		os.Exit(1) // child.NotJoined does not return
	}
}
