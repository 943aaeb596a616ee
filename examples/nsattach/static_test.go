package main

import (
	"debug/elf"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// The release build (-tags netgo,osusergo, static.go) is a static
// executable — no program interpreter, no shared library — and attaches
// exactly as the default build does: the same identity, confinement and
// exit codes inside the container.
func TestStaticReleaseBuild(t *testing.T) {
	testutil.RequireRoot(t)
	static := testutil.BuildMain(t, t.TempDir(), "netgo,osusergo")

	f, err := elf.Open(static)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "the release build has a program interpreter: it is linked dynamically")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "the release build needs shared libraries")

	c := testcontainer.New(t, testcontainer.Options{Hostname: "static-build"})
	probe := pidArgs(c, nil, "sh", "-c", "hostname; id; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; exit 3")
	want := run(t, "", probe...)
	require.Equal(t, 3, want.code, want.stderr)
	assert.Contains(t, want.stdout, "static-build\n")

	cmd := nsattachCmd(t, probe...)
	cmd.Path = static
	cmd.Args[0] = static
	out, err := cmd.Output()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 3, ee.ExitCode(), string(ee.Stderr))
	assert.Equal(t, want.stdout, string(out))
}
