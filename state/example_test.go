package state_test

import (
	"fmt"
	"os/exec"

	"nucleus/state"
)

// Describe any running process as a container: its namespaces, identity and
// start ticks (which make a later PID reuse detectable).
func ExampleFromPID() {
	st, err := state.FromPID(12345)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Rootless, st.Identity(), st.IsRunning())
}

// Read the state an OCI runtime prints (runc, crun, runsc).
func ExampleFromOCI() {
	cmd := exec.Command("runc", "state", "mycontainer")
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	st, err := state.FromOCI(out)
	_ = cmd.Wait()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.ID, st.PID, st.Status, st.UsingGVisor)
}
