package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

func init() { commands["rootless-launch"] = rootlessLaunch }

// rootlessLaunch starts "init" in a new user namespace and the other
// namespaces of a container. It runs as the unprivileged owner uid (Start
// sets its credentials): the owner of a user namespace is the euid of the
// process that creates it (user_namespaces(7)), so root must not create it.
// The unprivileged creator may map only its own uid and gid, and only with
// setgroups denied.
//
// fd 3 (ready pipe) and fd 4 (go gate) are passed through to init. After the
// start it writes "pid <host pid>\n" on fd 3, then waits for init and exits
// with its status (128+signal when killed).
func rootlessLaunch(args []string) int {
	fs := flag.NewFlagSet("rootless-launch", flag.ContinueOnError)
	uid := fs.Int("uid", -1, "host uid mapped to 0 inside (default: own euid)")
	gid := fs.Int("gid", -1, "host gid mapped to 0 inside (default: own egid)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *uid < 0 {
		*uid = os.Geteuid()
	}
	if *gid < 0 {
		*gid = os.Getegid()
	}
	fail := func(step string, err error) int {
		fmt.Fprintf(os.Stderr, "rootless-launch: %s: %v\n", step, err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		return fail("executable", err)
	}
	ready, gate := os.NewFile(3, "ready"), os.NewFile(4, "gate")
	cmd := exec.Command(exe, append([]string{"init"}, fs.Args()...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{ready, gate}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
			unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: *uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: *gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	if err := cmd.Start(); err != nil {
		return fail("start init", err)
	}
	if _, err := fmt.Fprintf(ready, "pid %d\n", cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fail("report pid", err)
	}
	ready.Close()
	gate.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return fail("wait init", err)
	}
	return 0
}
