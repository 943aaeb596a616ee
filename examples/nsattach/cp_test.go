package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// nsattach cp both ways and --host-binary, against a distroless container
// (no shell, no tar, no busybox inside).
func TestCpAndHostBinary(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		testutil.Missing(t, "/bin/busybox (busybox-static): %v", err)
	}
	c := testcontainer.New(t, testcontainer.Options{Distroless: true})
	pid := strconv.Itoa(c.PID)

	src := filepath.Join(t.TempDir(), "payload")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub/file"), []byte("hello\n"), 0o640))
	require.NoError(t, os.Symlink("/etc/shadow", filepath.Join(src, "shadow")))

	r := run(t, "", "cp", "--pid", pid, src, ":/root")
	require.Equal(t, result{"", "", 0}, r)
	b, err := os.ReadFile(filepath.Join(c.Rootfs, "root/payload/sub/file"))
	require.NoError(t, err)
	assert.Equal(t, "hello\n", string(b))

	r = run(t, "", "--host-binary", "/bin/busybox", "--pid", pid, "--", "ls", "/root/payload/sub")
	assert.Equal(t, result{"file\n", "", 0}, r)
	r = run(t, "", "--host-binary", "/bin/ls", "--pid", pid, "--", "ls")
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, "dynamically linked")

	out := t.TempDir()
	r = run(t, "", "cp", "--pid", pid, ":/root/payload", out)
	require.Equal(t, result{"", "", 0}, r)
	b, err = os.ReadFile(filepath.Join(out, "payload/sub/file"))
	require.NoError(t, err)
	assert.Equal(t, "hello\n", string(b))
	fi, err := os.Stat(filepath.Join(out, "payload/sub/file"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	link, err := os.Readlink(filepath.Join(out, "payload/shadow"))
	require.NoError(t, err)
	assert.Equal(t, "/etc/shadow", link)

	// "-": a tar stream on stdout.
	r = run(t, "", "cp", "--pid", pid, ":/root/payload/sub/file", "-")
	require.Equal(t, 0, r.code, r.stderr)
	tr := tar.NewReader(strings.NewReader(r.stdout))
	h, err := tr.Next()
	require.NoError(t, err)
	assert.Equal(t, "file", h.Name)

	r = run(t, "", "cp", "--pid", pid, ":/nonexistent", out)
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, `"/nonexistent"`)
	assert.Contains(t, r.stderr, "no such file or directory")
}

// The host side of `cp CONTAINER:SRC DST` trusts nothing in the stream: an
// entry below one of its own symlinks, or named with "..", cannot leave
// DST.
func TestExtractStaysInDir(t *testing.T) {
	outside := t.TempDir()
	for name, entries := range map[string][]*tar.Header{
		"symlink": {
			{Name: "esc", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "esc/pwned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		},
		"dotdot":    {{Name: "../pwned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}},
		"hard link": {{Name: "h", Typeflag: tar.TypeLink, Linkname: "../pwned"}},
	} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range entries {
			require.NoError(t, tw.WriteHeader(h))
			_, err := tw.Write(make([]byte, h.Size))
			require.NoError(t, err)
		}
		require.NoError(t, tw.Close())
		dir := filepath.Join(t.TempDir(), "dst")
		require.NoError(t, os.Mkdir(dir, 0o755))
		err := extract(&b, dir)
		assert.Error(t, err, name)
		_, err = os.Lstat(filepath.Join(outside, "pwned"))
		assert.ErrorIs(t, err, os.ErrNotExist, name)
		_, err = os.Lstat(filepath.Join(filepath.Dir(dir), "pwned"))
		assert.ErrorIs(t, err, os.ErrNotExist, name)
	}
}
