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

// The static builds (-tags netgo,osusergo, static.go), against glibc and
// against musl (the release build), are static executables — no program
// interpreter, no shared library — and attach exactly as the default build
// does: the same identity, confinement and exit codes inside the container.
func TestStaticReleaseBuild(t *testing.T) {
	testutil.RequireRoot(t)
	builds := map[string]string{
		"glibc": testutil.BuildMain(t, t.TempDir(), "netgo,osusergo"),
		"musl":  testutil.BuildMain(t, t.TempDir(), "netgo,osusergo", testutil.MuslCC(t)),
	}

	c := testcontainer.New(t, testcontainer.Options{Hostname: "static-build"})
	probe := pidArgs(c, nil, "sh", "-c", "hostname; id; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; exit 3")
	want := run(t, "", probe...)
	require.Equal(t, 3, want.code, want.stderr)
	assert.Contains(t, want.stdout, "static-build\n")

	for libc, static := range builds {
		t.Run(libc, func(t *testing.T) {
			f, err := elf.Open(static)
			require.NoError(t, err)
			defer f.Close()
			for _, p := range f.Progs {
				assert.NotEqual(t, elf.PT_INTERP, p.Type, "the static build has a program interpreter: it is linked dynamically")
			}
			libs, err := f.ImportedLibraries()
			require.NoError(t, err)
			assert.Empty(t, libs, "the static build needs shared libraries")

			cmd := nsattachCmd(t, probe...)
			cmd.Path = static
			cmd.Args[0] = static
			out, err := cmd.Output()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, 3, ee.ExitCode(), string(ee.Stderr))
			assert.Equal(t, want.stdout, string(out))
		})
	}
}
