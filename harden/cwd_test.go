package harden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testutil"
	"nucleus/state"
)

func TestWorkingDirectory(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	for dir, want := range map[string]string{"": "/", "/": "/", "/tmp": "/tmp", "/tmp/../etc": "/etc"} {
		out := mustRun(t, childSpec{
			Program:  compile(t, Policy{}),
			Identity: state.ProcessIdentity{UID: 1000, GID: 1000},
			Dir:      dir,
			Argv:     []string{busybox, "pwd"},
		}, childOpts{})
		assert.Equal(t, want+"\n", out, "dir %q", dir)
	}
}

// CVE-2024-21626: a directory fd opened outside the root before a chroot
// (a host fd leaked into the container) and a working directory through
// /proc/self/fd/N. chdir succeeds, but the kernel's getcwd reports the
// directory as "(unreachable)/...", and Apply refuses.
func TestWorkingDirectoryOutsideRoot(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "proc"), 0o755))
	outside := t.TempDir()
	r := runChild(t, childSpec{
		Program:  compile(t, Policy{}),
		Identity: state.ProcessIdentity{UID: 0, GID: 0},
		Chroot:   &chrootSpec{Root: root, Outside: outside},
		Dir:      "/proc/self/fd/{fd}",
		Argv:     []string{"/bin/busybox", "echo", "executed"},
	}, childOpts{})
	assert.Equal(t, exitApplyFailed, r.Code, r.Stderr)
	assert.Equal(t, StepGetcwd, r.Step())
	assert.Contains(t, r.Stderr, "(unreachable)")
	assert.Contains(t, r.Stderr, "outside the container's root")
	assert.Empty(t, r.Stdout)
}
