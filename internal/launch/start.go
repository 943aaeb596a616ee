package launch

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"nucleus/harden"
	"nucleus/internal/proc"
	"nucleus/nsenter"
	"nucleus/state"
)

// entrypoint is argv[0] of every child: the name registered with reexec.
const entrypoint = "nucleus-launch"

// Start runs r.Command inside r.Target and returns once the command has been
// executed (or has failed to be). Cancelling ctx afterwards SIGKILLs the
// command's whole process group; Wait then reaps it.
//
// Errors name the step that failed; the sentinels of package state
// (ErrNotRunning, ErrStale, ErrPermission, ErrUnsupported) work with
// errors.Is. A failed Start leaves no process, zombie or fd behind.
func Start(ctx context.Context, r *Request) (*Process, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	st := r.Target
	if !nsenter.Available() {
		return nil, fmt.Errorf("built without cgo, the namespace join cannot run: %w", state.ErrUnsupported)
	}
	if st.UsingGVisor {
		return nil, fmt.Errorf("container %q is a gVisor sandbox, which setns cannot enter: %w", st.ID, state.ErrUnsupported)
	}
	if err := permitted(st); err != nil {
		return nil, err
	}
	if err := st.CheckRunning(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prog, err := program(r.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	exe, err := exePath()
	if err != nil {
		return nil, err
	}

	target, nsflags, err := openTarget(st)
	if err != nil {
		return nil, err
	}
	defer target.Close()

	log := r.logger()
	sio, err := newStdio(r)
	if err != nil {
		return nil, err
	}
	defer sio.closeChildEnds()

	l := &launcher{req: r, log: log, stdio: sio}
	p, err := l.run(ctx, exe, target, nsflags, prog)
	if err != nil {
		sio.abort()
		return nil, err
	}
	return p, nil
}

// openTarget opens a pidfd for the target and checks, after opening it, that
// it names the process the state describes: from here on the pidfd, not the
// number, names the target. It also returns the namespaces to join: those
// that differ from the caller's.
func openTarget(st *state.ContainerState) (*os.File, uint32, error) {
	fd, err := proc.PidfdOpen(st.PID)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, 0, fmt.Errorf("pid %d: %w", st.PID, state.ErrNotRunning)
		}
		return nil, 0, fmt.Errorf("pidfd_open %d: %w", st.PID, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	fail := func(err error) (*os.File, uint32, error) {
		f.Close()
		return nil, 0, err
	}
	ticks, err := proc.StartTicks(st.PID)
	if err != nil {
		return fail(fmt.Errorf("pid %d: %w", st.PID, state.ErrNotRunning))
	}
	if ticks != st.StartTicks {
		return fail(fmt.Errorf("pid %d started at tick %d, the state says %d: %w", st.PID, ticks, st.StartTicks, state.ErrStale))
	}
	var flags uint32
	for _, ns := range proc.Namespaces {
		theirs, err := proc.NamespaceID(st.PID, ns)
		if errors.Is(err, os.ErrNotExist) && ns == "time" {
			continue // a kernel without time namespaces
		}
		if err != nil {
			return fail(fmt.Errorf("namespace %s of pid %d: %w", ns, st.PID, err))
		}
		ours, err := proc.NamespaceID(0, ns)
		if err != nil {
			return fail(fmt.Errorf("own namespace %s: %w", ns, err))
		}
		if theirs != ours {
			flags |= uint32(proc.NSFlag(ns))
		}
	}
	// The namespace links were read by number: the process is still alive,
	// so the number still named it.
	if err := proc.PidfdSignal(fd, 0); err != nil {
		return fail(fmt.Errorf("pid %d: %w", st.PID, state.ErrNotRunning))
	}
	return f, flags, nil
}

// launcher carries one Start through its steps.
type launcher struct {
	req   *Request
	log   interface{ Debug(string, ...any) }
	stdio *stdio
}

// childConfig is what the grandchild's Go side needs, sent as JSON after the
// go-ahead byte.
type childConfig struct {
	Args     []string              `json:"args"`
	Env      []string              `json:"env"`
	NeedHome bool                  `json:"need_home"`
	Dir      string                `json:"dir"`
	Identity state.ProcessIdentity `json:"identity"`
	Program  *harden.Program       `json:"program"`
}

func (l *launcher) run(ctx context.Context, exe string, target *os.File, nsflags uint32, prog *harden.Program) (*Process, error) {
	r := l.req
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	sock := os.NewFile(uintptr(fds[0]), "bootstrap")
	defer sock.Close()
	childSock := os.NewFile(uintptr(fds[1]), "bootstrap-child")

	files := append(l.stdio.childFiles(), childSock, target)
	// No Pdeathsig: it would kill the grandchild, forked into another PID
	// namespace, when the thread that started the middle child exits.
	middle, err := os.StartProcess(exe, []string{entrypoint}, &os.ProcAttr{
		Env:   []string{nsenter.Env + "=1"},
		Files: files,
		Sys:   &syscall.SysProcAttr{},
	})
	childSock.Close()
	if err != nil {
		return nil, fmt.Errorf("start child: %w", err)
	}
	l.log.Debug("child started", "pid", middle.Pid, "nsflags", fmt.Sprintf("%#x", nsflags))

	var flags uint32
	if r.TTY {
		flags |= nsenter.FlagTTY
	}
	req, _ := nsenter.Request{NSFlags: nsflags, Flags: flags}.MarshalBinary()
	_, werr := sock.Write(req)

	// The middle child's work is bounded (setns and one clone), so this
	// read is not cancelled by ctx: aborting it between the clone and the
	// report would leave a grandchild nobody knows to reap.
	msg, rerr := nsenter.ReadMessage(sock)
	if _, err := middle.Wait(); err != nil && rerr == nil {
		rerr = err
	}
	switch {
	case rerr == nil && msg.Type == nsenter.MsgPID:
	case rerr == nil && msg.Type == nsenter.MsgError:
		return nil, fmt.Errorf("nsenter: %w", msg.Err())
	case werr != nil:
		return nil, fmt.Errorf("nsenter: send request: %w", werr)
	case rerr != nil:
		return nil, fmt.Errorf("nsenter: child ended without a report: %w", rerr)
	default:
		return nil, fmt.Errorf("nsenter: unexpected message type %d", msg.Type)
	}

	p, err := newProcess(int(msg.Value), l.stdio, l.log)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Process, error) {
		p.abort()
		return nil, err
	}
	if err := joinCgroups(r.Target.PID, p.pid, l.log); err != nil {
		return fail(fmt.Errorf("cgroup: %w", err))
	}
	env, needHome := r.environ()
	id := r.Target.Identity()
	if r.Identity != nil {
		id = *r.Identity
	}
	dir := r.Dir
	if dir == "" {
		dir = "/"
	}
	cfg, err := json.Marshal(childConfig{Args: r.Command, Env: env, NeedHome: needHome, Dir: dir, Identity: id, Program: prog})
	if err != nil {
		return fail(fmt.Errorf("encode child config: %w", err))
	}
	buf := make([]byte, 1+4+len(cfg))
	buf[0] = nsenter.Go
	binary.NativeEndian.PutUint32(buf[1:], uint32(len(cfg)))
	copy(buf[5:], cfg)
	if _, err := sock.Write(buf); err != nil {
		return fail(fmt.Errorf("send config: %w", err))
	}

	// From now on a cancelled ctx kills the process group; the exec report
	// below then ends with EOF.
	p.watch(ctx)
	msg, err = nsenter.ReadMessage(sock)
	switch {
	case errors.Is(err, io.EOF):
		// The socket is close-on-exec: EOF without a message is a
		// successful execve.
		l.log.Debug("command executed", "pid", p.pid)
		p.stdio.started()
		return p, nil
	case err != nil:
		return fail(fmt.Errorf("read exec report: %w", err))
	default:
		if e := msg.Err(); e != nil {
			return fail(e)
		}
		return fail(fmt.Errorf("unexpected message type %d", msg.Type))
	}
}
