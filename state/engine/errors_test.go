package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"nucleus/internal/testutil"
	"nucleus/state"
	"nucleus/state/engine"
)

// saveStates writes nucleus state files for a live child under each id.
func saveStates(t *testing.T, ids ...string) (string, int) {
	t.Helper()
	child := testutil.StartChild(t, exec.Command("sleep", "60"))
	dir := filepath.Join(t.TempDir(), "states")
	for _, id := range ids {
		st, err := state.FromPID(child.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		st.ID, st.Name = id, id+"-name"
		if err := st.Save(dir); err != nil {
			t.Fatal(err)
		}
	}
	return dir, child.Process.Pid
}

// TestAmbiguousAndNotFound: two containers sharing an ID prefix make an
// *AmbiguousError listing both; a full ID or name finds one; an unknown
// name is a *NotFoundError naming what was searched and the absent socket.
func TestAmbiguousAndNotFound(t *testing.T) {
	testutil.RequireRoot(t)
	dir, pid := saveStates(t, "amb-one", "amb-two")
	opts := []engine.Option{engine.WithStateDir(dir), engine.WithEngines(engine.Nucleus, engine.Docker),
		engine.WithDockerHost("unix://" + filepath.Join(dir, "absent.sock"))}

	_, err := engine.Find(t.Context(), "amb-", opts...)
	var amb *engine.AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 || !strings.Contains(err.Error(), "amb-one") || !strings.Contains(err.Error(), "amb-two") {
		t.Fatalf("Find(amb-) = %v; want an AmbiguousError listing amb-one and amb-two", err)
	}
	for _, q := range []string{"amb-one", "amb-two-name", "amb-t"} {
		st, err := engine.Find(t.Context(), q, opts...)
		if err != nil || st.PID != pid || st.StartTicks == 0 {
			t.Errorf("Find(%s) = %+v, %v; want pid %d", q, st, err, pid)
		}
	}
	_, err = engine.Find(t.Context(), "nothing-here", opts...)
	var nf *engine.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "absent: docker (unix://"+dir) || !strings.Contains(err.Error(), "searched nucleus ("+dir) {
		t.Fatalf("Find(nothing-here) = %v; want a NotFoundError with the searched dir and the absent socket", err)
	}
}

// childEnv makes the test binary, re-run as an unprivileged uid, look a
// name up through the Docker socket named in it and print the error.
const childEnv = "NUCLEUS_ENGINE_TEST_UNPRIVILEGED"

func unprivilegedChild(arg string) int {
	mode, path, _ := strings.Cut(arg, ":")
	switch mode {
	case "docker": // root's socket: refused
		_, err := engine.Find(context.Background(), "web", engine.WithDockerHost("unix://"+path))
		fmt.Println(err)
		if errors.Is(err, state.ErrPermission) {
			return 0
		}
	case "foreign": // a state directory that is not the caller's: refused
		_, err := engine.Find(context.Background(), "web", engine.WithStateDir(path))
		fmt.Println(err)
		if errors.Is(err, state.ErrPermission) {
			return 0
		}
	case "own": // its own state directory, under XDG_RUNTIME_DIR: found
		sleep := exec.Command("sleep", "30")
		if err := sleep.Start(); err != nil {
			fmt.Println(err)
			return 1
		}
		defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
		st, err := state.FromPID(sleep.Process.Pid)
		if err == nil {
			st.ID, st.Name = "mine", "mine"
			err = st.Save(state.DefaultDir())
		}
		if err != nil {
			fmt.Println(err)
			return 1
		}
		got, err := engine.Find(context.Background(), "mine")
		if err != nil || got.PID != sleep.Process.Pid {
			fmt.Println(got, err)
			return 1
		}
		fmt.Println("found", got.PID)
		return 0
	}
	return 1
}

// runUnprivileged runs the test binary (a copy other uids can execute, in
// dir) as uid 65534 in the given mode and returns its output.
func runUnprivileged(t *testing.T, dir, arg string, env ...string) (string, error) {
	t.Helper()
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "engine.test")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append([]string{childEnv + "=" + arg, "PATH=/usr/bin:/bin"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// publicTempDir is a temporary directory uid 65534 can reach (t.TempDir's
// parent is 0700).
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nucleus-engine-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUnprivilegedRefused: a caller that is not root naming the Docker
// socket (root's) is refused before the socket is dialled: the listener
// sees no connection.
func TestUnprivilegedRefused(t *testing.T) {
	testutil.RequireRoot(t)
	dir := publicTempDir(t)
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_ = os.Chmod(sock, 0o666)
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	out, err := runUnprivileged(t, dir, "docker:"+sock)
	if err != nil || !strings.Contains(out, "refused for uid 65534") {
		t.Fatalf("unprivileged Find: %v: %s; want a refusal", err, out)
	}
	select {
	case <-accepted:
		t.Fatal("the Docker socket was dialled by an unprivileged caller")
	case <-time.After(100 * time.Millisecond):
	}

	// Root's state directory, named explicitly: refused too.
	rootStates := filepath.Join(dir, "root-states")
	if err := os.Mkdir(rootStates, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := runUnprivileged(t, dir, "foreign:"+rootStates); err != nil || !strings.Contains(out, "owned by uid 0") {
		t.Errorf("unprivileged Find in root's state dir: %v: %s; want a refusal", err, out)
	}
}

// TestUnprivilegedOwn: an unprivileged caller finds its own containers
// (its nucleus state directory under XDG_RUNTIME_DIR) by name.
func TestUnprivilegedOwn(t *testing.T) {
	testutil.RequireRoot(t)
	dir := publicTempDir(t)
	xdg := filepath.Join(dir, "xdg")
	if err := os.Mkdir(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(xdg, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	out, err := runUnprivileged(t, dir, "own:", "XDG_RUNTIME_DIR="+xdg)
	if err != nil || !strings.HasPrefix(out, "found ") {
		t.Fatalf("unprivileged Find of its own container: %v: %s", err, out)
	}
}
