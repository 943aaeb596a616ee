package child

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/hardencore"
)

// useFiles points the child's passwd and group paths at files holding
// passwd and group ("" leaves the file missing) for the test.
func useFiles(t *testing.T, passwd, group string) {
	t.Helper()
	dir := t.TempDir()
	oldP, oldG := passwdFile, groupFile
	passwdFile, groupFile = filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	t.Cleanup(func() { passwdFile, groupFile = oldP, oldG })
	if passwd != "" {
		require.NoError(t, os.WriteFile(passwdFile, []byte(passwd), 0o644))
	}
	if group != "" {
		require.NoError(t, os.WriteFile(groupFile, []byte(group), 0o644))
	}
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
	useFiles(t, testPasswd, testGroup)
	for _, tc := range []struct {
		spec string
		want hardencore.Identity
		home string
	}{
		{"app", hardencore.Identity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{10, 50}}, "/home/app"},
		{"1000", hardencore.Identity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{10, 50}}, "/home/app"},
		{"root", hardencore.Identity{UID: 0, GID: 0, AdditionalGIDs: []uint32{10}}, "/root"},
		{"app:staff", hardencore.Identity{UID: 1000, GID: 50}, "/home/app"},
		{"app:50", hardencore.Identity{UID: 1000, GID: 50}, "/home/app"},
		{"app:999", hardencore.Identity{UID: 1000, GID: 999}, "/home/app"},
		// A numeric group is a gid, never a group name.
		{"app:1000", hardencore.Identity{UID: 1000, GID: 1000}, "/home/app"},
		// Numeric uid without an entry: that uid, gid 0, HOME /.
		{"1234", hardencore.Identity{UID: 1234}, "/"},
		{"1234:5", hardencore.Identity{UID: 1234, GID: 5}, "/"},
		{"1234:staff", hardencore.Identity{UID: 1234, GID: 50}, "/"},
		// A numeric user is a uid, never a name.
		{"42", hardencore.Identity{UID: 42}, "/"},
		{"rel", hardencore.Identity{UID: 5, GID: 5}, "/"},
		{"crlf", hardencore.Identity{UID: 7, GID: 7}, "/home/crlf"},
		{"last", hardencore.Identity{UID: 2000, GID: 2000}, "/home/last"},
	} {
		id, home, err := resolveUser(tc.spec)
		require.NoError(t, err, tc.spec)
		assert.Equal(t, tc.want, id, tc.spec)
		assert.Equal(t, tc.home, home, tc.spec)
	}
	for spec, want := range map[string]string{
		"nobody":    `no entry in the container's ` + passwdFile,
		"bad":       `no entry in the container's ` + passwdFile,
		"app:nogrp": `group "nogrp": no entry in the container's ` + groupFile,
	} {
		_, _, err := resolveUser(spec)
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), want, spec)
	}
}

func TestResolveUserMissingFiles(t *testing.T) {
	useFiles(t, "", "")
	id, home, err := resolveUser("1000")
	require.NoError(t, err)
	assert.Equal(t, hardencore.Identity{UID: 1000}, id)
	assert.Equal(t, "/", home)
	_, _, err = resolveUser("app")
	assert.ErrorContains(t, err, "no entry")
	home, err = homeOf(0)
	require.NoError(t, err)
	assert.Equal(t, "/", home, "no passwd: HOME /, as runc does")

	useFiles(t, testPasswd, "")
	id, _, err = resolveUser("app")
	require.NoError(t, err)
	assert.Equal(t, hardencore.Identity{UID: 1000, GID: 1000}, id, "no group file: no supplementary groups")
}

func TestHomeOf(t *testing.T) {
	useFiles(t, testPasswd, "")
	for uid, want := range map[uint32]string{0: "/root", 1000: "/home/app", 2000: "/home/last", 5: "/", 7: "/home/crlf", 42: "/"} {
		home, err := homeOf(uid)
		require.NoError(t, err)
		assert.Equal(t, want, home, "uid %d", uid)
	}
}

// Issue #9 item 5: a NUL byte in the entry that would be used is a clear
// error naming the file and line, not `exec "/bin/sh": invalid argument`;
// one in another entry does not matter.
func TestUserFileNUL(t *testing.T) {
	useFiles(t, "root:x:0:0:root:/ro\x00ot:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", "wheel:x:10:ap\x00p\nstaff:x:50:app\n")
	_, err := homeOf(0)
	require.Error(t, err)
	assert.Equal(t, "container's "+passwdFile+": line 1 contains a NUL byte", err.Error())
	home, err := homeOf(1000)
	require.NoError(t, err)
	assert.Equal(t, "/home/app", home)
	id, _, err := resolveUser("app")
	require.NoError(t, err, "the NUL line does not list app")
	assert.Equal(t, []uint32{50}, id.AdditionalGIDs)

	useFiles(t, testPasswd, "staff:x:50:a\x00,app\n")
	_, _, err = resolveUser("app")
	assert.ErrorContains(t, err, groupFile+": line 1 contains a NUL byte")
}

// The container's files are hostile: a FIFO must not block, a directory or
// a device is refused, a huge file is bounded — each an error naming the
// file.
func TestUserFileHostile(t *testing.T) {
	useFiles(t, "", "")
	require.NoError(t, syscall.Mkfifo(passwdFile, 0o644))
	_, err := homeOf(0)
	assert.EqualError(t, err, "container's "+passwdFile+": not a regular file")
	require.NoError(t, os.Remove(passwdFile))

	require.NoError(t, os.Mkdir(passwdFile, 0o755))
	_, _, err = resolveUser("app")
	assert.ErrorContains(t, err, "not a regular file")
	require.NoError(t, os.Remove(passwdFile))

	big := "root:x:0:0::/root:/bin/sh\n" + strings.Repeat("#", maxUserFile)
	require.NoError(t, os.WriteFile(passwdFile, []byte(big), 0o644))
	_, err = homeOf(0)
	assert.ErrorContains(t, err, "larger than")
}
