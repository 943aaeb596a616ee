package attach_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"nucleus/attach"
	"nucleus/state"
)

// Attach a command to a container known by the PID of its init and get its
// exit code.
func ExampleAttach() {
	st, err := state.FromPID(12345)
	if err != nil {
		fmt.Println(err)
		return
	}
	code, err := attach.Attach(st, []string{"sh", "-c", "hostname; exit 3"})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Println("no such command in the container")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println("exit code", code)
	}
}

// Bound a command by a deadline: when it passes, the command's whole process
// group is killed and reaped, and the error wraps context.DeadlineExceeded.
func ExampleAttachContext() {
	st, err := state.Load(state.DefaultDir(), "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := attach.AttachContext(ctx, st, []string{"/usr/local/bin/migrate"},
		attach.WithEnv("DB=postgres://db/app"), attach.WithDir("/srv/app"),
		attach.WithIdentity(state.ProcessIdentity{UID: 1000, GID: 1000}))
	fmt.Println(code, errors.Is(err, context.DeadlineExceeded))
}

// Start a long-running command, signal it, and wait for it.
func ExampleStart() {
	st, err := state.FromPID(12345)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := attach.Start(context.Background(), st, []string{"sleep", "600"},
		attach.WithStdio(nil, os.Stdout, os.Stderr))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("started as host pid", p.Pid())
	_ = p.Signal(syscall.SIGTERM)
	code, err := p.Wait()
	fmt.Println(code, err) // 143 <nil>: killed by SIGTERM
}
