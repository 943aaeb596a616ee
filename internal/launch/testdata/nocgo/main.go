// Command nocgo attaches to itself from a CGO_ENABLED=0 build: nucleus must
// refuse with ErrUnsupported instead of running anything on the host.
package main

import (
	"errors"
	"fmt"
	"os"

	"nucleus/attach"
	"nucleus/state"
)

func main() {
	st, err := state.FromPID(os.Getpid())
	if err != nil {
		fmt.Println("state:", err)
		os.Exit(2)
	}
	_, err = attach.Attach(st, []string{"/bin/true"})
	fmt.Println(err)
	if errors.Is(err, attach.ErrUnsupported) {
		os.Exit(0)
	}
	os.Exit(1)
}
