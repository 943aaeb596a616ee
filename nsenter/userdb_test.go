//go:build linux && cgo

package nsenter

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The grandchild's lookups in the container's /etc/passwd, /etc/group and
// PATH (child.c), on real files: the cases internal/child's Go resolver
// was held to before it moved into the constructor.

type userFiles struct{ passwd, group string }

// files writes passwd and group ("" leaves the file missing).
func files(t *testing.T, passwd, group string) userFiles {
	t.Helper()
	dir := t.TempDir()
	f := userFiles{filepath.Join(dir, "passwd"), filepath.Join(dir, "group")}
	if passwd != "" {
		require.NoError(t, os.WriteFile(f.passwd, []byte(passwd), 0o644))
	}
	if group != "" {
		require.NoError(t, os.WriteFile(f.group, []byte(group), 0o644))
	}
	return f
}

type ident struct {
	UID, GID uint32
	Gids     []uint32
}

func (f userFiles) resolve(spec string) (ident, string, error) {
	uid, gid, gids, home, err := resolveUser(spec, f.passwd, f.group)
	return ident{uid, gid, gids}, home, err
}

const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"broken line\n" +
		"bad:x:abc:0::/bad:/bin/sh\n" + // a lenient parser reads uid 0
		"rel:x:5:5::relative:/bin/sh\n" +
		"crlf:x:7:7::/home/crlf:/bin/sh\r\n" +
		"app:x:1000:1000:app:/home/app:/bin/sh\n" +
		"app:x:1001:1001:second app:/home/app2:/bin/sh\n" +
		"42:x:4242:4242:numeric name:/home/n:/bin/sh\n" +
		"big:x:2147483648:0::/home/big:/bin/sh\n" + // above the largest id
		"last:x:2000:2000::/home/last:/bin/sh"
	testGroup = "root:x:0:\n" +
		"app:x:1000:\n" +
		"wheel:x:10:root,app\n" +
		"staff:x:50:app\n" +
		"adm:x:4:other\n" +
		"1000:x:77:\n"
)

// The rules of docker exec -u (moby's GetExecUser).
func TestResolveUser(t *testing.T) {
	f := files(t, testPasswd, testGroup)
	for _, tc := range []struct {
		spec string
		want ident
		home string
	}{
		{"app", ident{1000, 1000, []uint32{10, 50}}, "/home/app"},
		{"1000", ident{1000, 1000, []uint32{10, 50}}, "/home/app"},
		{"root", ident{0, 0, []uint32{10}}, "/root"},
		{"app:staff", ident{1000, 50, nil}, "/home/app"},
		{"app:50", ident{1000, 50, nil}, "/home/app"},
		{"app:999", ident{1000, 999, nil}, "/home/app"},
		// A numeric group is a gid, never a group name.
		{"app:1000", ident{1000, 1000, nil}, "/home/app"},
		// Numeric uid without an entry: that uid, gid 0, HOME /.
		{"1234", ident{1234, 0, nil}, "/"},
		{"1234:5", ident{1234, 5, nil}, "/"},
		{"1234:staff", ident{1234, 50, nil}, "/"},
		// A numeric user is a uid, never a name.
		{"42", ident{42, 0, nil}, "/"},
		{"rel", ident{5, 5, nil}, "/"},
		{"crlf", ident{7, 7, nil}, "/home/crlf"},
		{"last", ident{2000, 2000, nil}, "/home/last"},
	} {
		id, home, err := f.resolve(tc.spec)
		require.NoError(t, err, tc.spec)
		assert.Equal(t, tc.want, id, tc.spec)
		assert.Equal(t, tc.home, home, tc.spec)
	}
	for spec, want := range map[string]string{
		"nobody":     `no entry in the container's ` + f.passwd,
		"bad":        `no entry in the container's ` + f.passwd,
		"big":        `no entry in the container's ` + f.passwd,
		"app:nogrp":  `group "nogrp": no entry in the container's ` + f.group,
		"app:n\"o\n": `group "n\"o\n": no entry in the container's ` + f.group,
		"app:\x01":   `group "\x01": no entry in the container's ` + f.group,
	} {
		_, _, err := f.resolve(spec)
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), want, spec)
	}
}

func TestResolveUserMissingFiles(t *testing.T) {
	f := files(t, "", "")
	id, home, err := f.resolve("1000")
	require.NoError(t, err)
	assert.Equal(t, ident{1000, 0, nil}, id)
	assert.Equal(t, "/", home)
	_, _, err = f.resolve("app")
	assert.ErrorContains(t, err, "no entry")
	home, err = homeOf(0, f.passwd)
	require.NoError(t, err)
	assert.Equal(t, "/", home, "no passwd: HOME /, as runc does")

	f = files(t, testPasswd, "")
	id, _, err = f.resolve("app")
	require.NoError(t, err)
	assert.Equal(t, ident{1000, 1000, nil}, id, "no group file: no supplementary groups")
}

func TestHomeOf(t *testing.T) {
	f := files(t, testPasswd, "")
	for uid, want := range map[uint32]string{0: "/root", 1000: "/home/app", 2000: "/home/last", 5: "/", 7: "/home/crlf", 42: "/"} {
		home, err := homeOf(uid, f.passwd)
		require.NoError(t, err)
		assert.Equal(t, want, home, "uid %d", uid)
	}
}

// Issue #9 item 5: a NUL byte in the entry that would be used is a clear
// error naming the file and line, not `exec "/bin/sh": invalid argument`;
// one in another entry does not matter.
func TestUserFileNUL(t *testing.T) {
	f := files(t, "root:x:0:0:root:/ro\x00ot:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", "wheel:x:10:ap\x00p\nstaff:x:50:app\n")
	_, err := homeOf(0, f.passwd)
	require.Error(t, err)
	assert.Equal(t, "container's "+f.passwd+": line 1 contains a NUL byte", err.Error())
	home, err := homeOf(1000, f.passwd)
	require.NoError(t, err)
	assert.Equal(t, "/home/app", home)
	id, _, err := f.resolve("app")
	require.NoError(t, err, "the NUL line does not list app")
	assert.Equal(t, []uint32{50}, id.Gids)

	f = files(t, testPasswd, "staff:x:50:a\x00,app\n")
	_, _, err = f.resolve("app")
	assert.ErrorContains(t, err, f.group+": line 1 contains a NUL byte")
}

// The container's files are hostile: a FIFO must not block, a directory or
// a device is refused, a huge file is bounded — each an error naming the
// file.
func TestUserFileHostile(t *testing.T) {
	f := files(t, "", "")
	require.NoError(t, syscall.Mkfifo(f.passwd, 0o644))
	_, err := homeOf(0, f.passwd)
	assert.EqualError(t, err, "container's "+f.passwd+": not a regular file")
	require.NoError(t, os.Remove(f.passwd))

	require.NoError(t, os.Mkdir(f.passwd, 0o755))
	_, _, err = f.resolve("app")
	assert.ErrorContains(t, err, "not a regular file")
	require.NoError(t, os.Remove(f.passwd))

	_, err = homeOf(0, "/dev/null")
	assert.EqualError(t, err, "container's /dev/null: not a regular file")

	big := "root:x:0:0::/root:/bin/sh\n" + strings.Repeat("#", 1<<20)
	require.NoError(t, os.WriteFile(f.passwd, []byte(big), 0o644))
	_, err = homeOf(0, f.passwd)
	assert.ErrorContains(t, err, "larger than")

	if os.Geteuid() != 0 {
		require.NoError(t, os.WriteFile(f.passwd, []byte(testPasswd), 0))
		_, err = homeOf(0, f.passwd)
		assert.EqualError(t, err, "container's "+f.passwd+": open: permission denied")
	}
}

func TestLookPath(t *testing.T) {
	p, ok := lookPath("sh", []string{"PATH=relative:/nonexistent:/bin"})
	require.True(t, ok)
	assert.Equal(t, "/bin/sh", p)
	_, ok = lookPath("no-such-command-here", []string{"PATH=/bin"})
	assert.False(t, ok)
	_, ok = lookPath("passwd", []string{"PATH=/etc"})
	assert.False(t, ok, "a file without an execute bit is not a command")
	_, ok = lookPath("sh", []string{"PATH=/"})
	assert.False(t, ok, "a directory is not a command")
	p, ok = lookPath("sh", []string{"HOME=/", "PATH=/bin", "PATH=/nonexistent"})
	require.True(t, ok, "the first PATH counts, as for getenv")
	assert.Equal(t, "/bin/sh", p)
	_, ok = lookPath("sh", []string{"PATH=/nonexistent", "PATH=/bin"})
	assert.False(t, ok, "only the first PATH counts")
	p, ok = lookPath("./x", nil)
	require.True(t, ok)
	assert.Equal(t, "./x", p)
	_, ok = lookPath("sh", nil)
	assert.False(t, ok, "no PATH: nothing is searched")
}
