package attach_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// tarEntry is one entry of the sample tree.
type tarEntry struct {
	name, link string
	typ        byte
	mode       int64
	data       []byte
}

// symlinks pointing out of the container: they must be stored as they are
// and never followed, in either direction.
var escapingLinks = map[string]string{
	"tree/shadow": "/etc/shadow", "tree/up": "../../..", "tree/procroot": "/proc/self/root",
}

func sampleTree() []tarEntry {
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 kB: several chunks
	es := []tarEntry{
		{name: "tree/", typ: tar.TypeDir, mode: 0o750},
		{name: "tree/plain", typ: tar.TypeReg, mode: 0o644, data: []byte("plain\n")},
		{name: "tree/secret", typ: tar.TypeReg, mode: 0o600, data: []byte("secret\n")},
		{name: "tree/tool", typ: tar.TypeReg, mode: 0o755, data: []byte("\x7fELF not really\n")},
		{name: "tree/empty", typ: tar.TypeReg, mode: 0o640},
		{name: "tree/big", typ: tar.TypeReg, mode: 0o644, data: big},
		{name: "tree/sub/", typ: tar.TypeDir, mode: 0o700},
		{name: "tree/sub/deep", typ: tar.TypeReg, mode: 0o444, data: []byte("deep\n")},
		{name: "tree/ro/", typ: tar.TypeDir, mode: 0o555},
		{name: "tree/ro/inside", typ: tar.TypeReg, mode: 0o644, data: []byte("in a read-only dir\n")},
		{name: "tree/rel", typ: tar.TypeSymlink, link: "plain"},
		{name: "tree/hard", typ: tar.TypeLink, link: "tree/plain"},
	}
	for name, target := range escapingLinks {
		es = append(es, tarEntry{name: name, typ: tar.TypeSymlink, link: target})
	}
	return es
}

var mtime = time.Unix(1700000000, 0)

func makeTar(t *testing.T, es []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.data)), ModTime: mtime}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write(e.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return b.Bytes()
}

// checkTree checks the sample tree as the host sees it below dir.
func checkTree(t *testing.T, dir string, owner int) {
	t.Helper()
	for _, e := range sampleTree() {
		p := filepath.Join(dir, e.name)
		fi, err := os.Lstat(p)
		require.NoError(t, err, e.name)
		st := fi.Sys().(*syscall.Stat_t)
		assert.Equal(t, owner, int(st.Uid), "%s: owner", e.name)
		switch e.typ {
		case tar.TypeDir:
			assert.True(t, fi.IsDir(), e.name)
			assert.Equal(t, os.FileMode(e.mode), fi.Mode().Perm(), e.name)
			assert.Equal(t, mtime, fi.ModTime(), e.name)
		case tar.TypeReg:
			assert.True(t, fi.Mode().IsRegular(), e.name)
			assert.Equal(t, os.FileMode(e.mode), fi.Mode().Perm(), e.name)
			assert.Equal(t, mtime, fi.ModTime(), e.name)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(e.data, b), "%s: content", e.name)
		case tar.TypeSymlink:
			target, err := os.Readlink(p)
			require.NoError(t, err, e.name)
			assert.Equal(t, e.link, target, e.name)
		case tar.TypeLink:
			other, err := os.Lstat(filepath.Join(dir, e.link))
			require.NoError(t, err)
			assert.True(t, os.SameFile(fi, other), "%s is a hard link of %s", e.name, e.link)
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "tree"))
	require.NoError(t, err)
	for _, e := range ents {
		assert.False(t, strings.HasPrefix(e.Name(), ".nucleus-cp-"), "temporary file left: %s", e.Name())
	}
}

// readTar reads a CopyFrom stream into its headers and file contents.
func readTar(t *testing.T, r io.Reader) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	hs, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, data
		}
		require.NoError(t, err)
		hs[h.Name] = h
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		data[h.Name] = b
	}
}

// checkStream checks a CopyFrom stream of the sample tree.
func checkStream(t *testing.T, hs map[string]*tar.Header, data map[string][]byte, uid int) {
	t.Helper()
	require.Len(t, hs, len(sampleTree()), "entries: %v", keys(hs))
	for _, e := range sampleTree() {
		h := hs[e.name]
		require.NotNil(t, h, "%s missing from %v", e.name, keys(hs))
		switch e.typ {
		case tar.TypeDir, tar.TypeReg:
			assert.Equal(t, e.mode, h.Mode, e.name)
			assert.Equal(t, mtime, h.ModTime, e.name)
			assert.Equal(t, uid, h.Uid, e.name)
			if h.Typeflag != tar.TypeLink { // tree/plain may come as the link
				assert.True(t, bytes.Equal(e.data, data[e.name]), "%s: content", e.name)
			}
		case tar.TypeSymlink:
			assert.Equal(t, byte(tar.TypeSymlink), h.Typeflag, e.name)
			assert.Equal(t, e.link, h.Linkname, e.name)
			assert.Empty(t, data[e.name], "%s: a symlink has no data (never followed)", e.name)
		case tar.TypeLink:
			// Either of the two names may come first.
			if h.Typeflag == tar.TypeLink {
				assert.Equal(t, "tree/plain", h.Linkname)
				assert.Equal(t, "plain\n", string(data["tree/plain"]))
			} else {
				assert.Equal(t, byte(tar.TypeLink), hs["tree/plain"].Typeflag)
				assert.Equal(t, "tree/hard", hs["tree/plain"].Linkname)
				assert.Equal(t, "plain\n", string(data[e.name]))
			}
		}
	}
}

func keys(m map[string]*tar.Header) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// roundTrip copies the sample tree into dest (a directory inside, at host
// path hostDest), checks it on the host, copies it back out and checks the
// stream.
func roundTrip(t *testing.T, st *state.ContainerState, dest, hostDest string, owner, uid int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, attach.CopyTo(ctx, st, dest, bytes.NewReader(makeTar(t, sampleTree()))))
	checkTree(t, hostDest, owner)
	// After a first copy: /dev/null and the sealed executable are opened
	// once per process.
	fds, kids := fdCount(t), len(children(t))

	rc, err := attach.CopyFrom(ctx, st, dest+"/tree")
	require.NoError(t, err)
	hs, data := readTar(t, rc)
	require.NoError(t, rc.Close())
	checkStream(t, hs, data, uid)
	assert.Equal(t, fds, fdCount(t), "fds leaked")
	assert.Len(t, children(t), kids, "children left")
}

// Files, directories, modes, times, symlinks and a hard link survive a
// round trip through a rootful and a rootless container, and the symlinks
// pointing out of the container are stored as symlinks both ways.
func TestCopyRoundTrip(t *testing.T) {
	testutil.RequireRoot(t)
	for _, rootless := range []bool{false, true} {
		t.Run("rootless="+strconv.FormatBool(rootless), func(t *testing.T) {
			c, st := container(t, testcontainer.Options{Rootless: rootless, Distroless: true})
			// A directory of the container's root, who is OwnerUID on the
			// host when rootless.
			data := filepath.Join(c.Rootfs, "data")
			require.NoError(t, os.Mkdir(data, 0o755))
			require.NoError(t, os.Chown(data, int(c.OwnerUID), int(c.OwnerUID)))
			roundTrip(t, st, "/data", data, int(c.OwnerUID), 0)
		})
	}
}

// The same against a runc container.
func TestCopyRunc(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{Hostname: "runc-copy"})
	st := runcState(t, c)
	roundTrip(t, st, "/root", filepath.Join(c.Rootfs, "root"), 0, 0)
	out, code, err := c.Exec("cat", "/root/tree/sub/deep")
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "deep\n", out, "runc exec sees the copied file")
}

// Neither direction leaves the container: a destination through a magic
// link is refused, an archive entry below one of its own symlinks (or a
// container's) is refused instead of followed, ".." names are refused; a
// CopyFrom through /proc/self/root is refused and a symlink at the copied
// path is copied as a symlink.
func TestCopyStaysInside(t *testing.T) {
	testutil.RequireRoot(t)
	c, st := container(t, testcontainer.Options{Distroless: true})
	ctx := context.Background()
	require.NoError(t, os.Symlink("/", filepath.Join(c.Rootfs, "root/planted")))

	for name, es := range map[string][]tarEntry{
		"own symlink": {{name: "esc", typ: tar.TypeSymlink, link: "/"}, {name: "esc/pwned", typ: tar.TypeReg, mode: 0o644, data: []byte("x")}},
		"planted":     {{name: "planted/pwned", typ: tar.TypeReg, mode: 0o644, data: []byte("x")}},
		"dotdot":      {{name: "../pwned", typ: tar.TypeReg, mode: 0o644, data: []byte("x")}},
		"hard link":   {{name: "h", typ: tar.TypeLink, link: "planted/etc/passwd"}},
	} {
		err := attach.CopyTo(ctx, st, "/root", bytes.NewReader(makeTar(t, es)))
		require.Error(t, err, name)
		t.Logf("%s: %v", name, err)
		_, err = os.Lstat(filepath.Join(c.Rootfs, "pwned"))
		assert.ErrorIs(t, err, fs.ErrNotExist, name)
		_, err = os.Lstat("/pwned")
		assert.ErrorIs(t, err, fs.ErrNotExist, name)
		_, err = os.Lstat(filepath.Join(c.Rootfs, "root/esc"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "%s: a failed copy leaves nothing", name)
	}

	fds, kids := fdCount(t), len(children(t))
	err := attach.CopyTo(ctx, st, "/proc/self/root/root", bytes.NewReader(makeTar(t, sampleTree())))
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ELOOP, "a magic link is not followed: %v", err)

	rc, err := attach.CopyFrom(ctx, st, "/proc/self/root/etc/passwd")
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	assert.ErrorIs(t, err, syscall.ELOOP)
	rc.Close()

	// A symlink to the host's (and the container's) /etc/shadow at the
	// copied path: the link, not the file.
	require.NoError(t, os.Symlink("/etc/shadow", filepath.Join(c.Rootfs, "root/shadow")))
	rc, err = attach.CopyFrom(ctx, st, "/root/shadow")
	require.NoError(t, err)
	hs, data := readTar(t, rc)
	require.NoError(t, rc.Close())
	require.Contains(t, hs, "shadow")
	assert.Equal(t, byte(tar.TypeSymlink), hs["shadow"].Typeflag)
	assert.Equal(t, "/etc/shadow", hs["shadow"].Linkname)
	assert.Empty(t, data["shadow"])
	assert.Equal(t, fds, fdCount(t), "fds leaked")
	assert.Len(t, children(t), kids, "children left")
}

// A copy as uid 1000 honours the container's permissions: it may write
// its home, not /root; it may not read a root-only file.
func TestCopyAsUID1000(t *testing.T) {
	testutil.RequireRoot(t)
	c, st := container(t, testcontainer.Options{Distroless: true})
	ctx := context.Background()
	as1000 := attach.WithIdentity(state.ProcessIdentity{UID: 1000, GID: 1000})
	es := []tarEntry{{name: "f", typ: tar.TypeReg, mode: 0o644, data: []byte("mine\n")}}

	require.NoError(t, attach.CopyTo(ctx, st, "/home/user", bytes.NewReader(makeTar(t, es)), as1000))
	fi, err := os.Stat(filepath.Join(c.Rootfs, "home/user/f"))
	require.NoError(t, err)
	assert.Equal(t, uint32(1000), fi.Sys().(*syscall.Stat_t).Uid)

	err = attach.CopyTo(ctx, st, "/root", bytes.NewReader(makeTar(t, es)), as1000)
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.Contains(t, err.Error(), `"/root"`)

	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "etc/secret"), []byte("no"), 0o600))
	rc, err := attach.CopyFrom(ctx, st, "/etc/secret", as1000)
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.Contains(t, err.Error(), `"secret": open`)
	rc.Close()
}

// nsenterMount mounts a small tmpfs at dir inside the container's mount
// namespace (util-linux nsenter, as the test's own tool).
func nsenterMount(t *testing.T, pid int, dir, opts string) {
	t.Helper()
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		testutil.Missing(t, "nsenter (util-linux): %v", err)
	}
	out, err := exec.Command(nsenter, "-t", strconv.Itoa(pid), "-m", "mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// A copy into a full or a read-only file system fails with an error naming
// the path and leaves nothing behind: no temporary file, no partial file,
// none of the directories it made.
func TestCopyFullAndReadOnly(t *testing.T) {
	testutil.RequireRoot(t)
	// With busybox: nsenter runs the container's mount.
	c, st := container(t, testcontainer.Options{})
	ctx := context.Background()
	for _, d := range []string{"full", "ro"} {
		require.NoError(t, os.Mkdir(filepath.Join(c.Rootfs, d), 0o755))
	}
	nsenterMount(t, c.PID, "/full", "size=256k,mode=0755")
	nsenterMount(t, c.PID, "/ro", "ro,mode=0755")

	err := attach.CopyTo(ctx, st, "/full", bytes.NewReader(makeTar(t, sampleTree())))
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), `"tree/big"`)
	rc, err := attach.CopyFrom(ctx, st, "/full")
	require.NoError(t, err)
	hs, _ := readTar(t, rc)
	require.NoError(t, rc.Close())
	assert.Equal(t, []string{"full/"}, keys(hs), "nothing left in the full file system")

	err = attach.CopyTo(ctx, st, "/ro", bytes.NewReader(makeTar(t, sampleTree())))
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.EROFS)
	assert.Contains(t, err.Error(), `"tree"`)

	// The caller's archive breaking off midway leaves nothing either.
	whole := makeTar(t, sampleTree())
	err = attach.CopyTo(ctx, st, "/root", io.MultiReader(bytes.NewReader(whole[:len(whole)/2]), iotestErr{}))
	require.Error(t, err)
	assert.True(t, errors.Is(err, errBroken), "%v", err)
	_, err = os.Lstat(filepath.Join(c.Rootfs, "root/tree"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

var errBroken = errors.New("broken archive source")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errBroken }

// blockingReader yields data, then blocks until ctx ends.
type blockingReader struct {
	ctx  context.Context
	data []byte
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		<-r.ctx.Done()
		return 0, r.ctx.Err()
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// A copy whose context ends midway stops, and the copy-in removes what it
// had created — the half-written file under its temporary name included.
func TestCopyCancel(t *testing.T) {
	testutil.RequireRoot(t)
	c, st := container(t, testcontainer.Options{Distroless: true})
	whole := makeTar(t, sampleTree())
	// Into tree/big's data: the directories and small files are in.
	cut := bytes.Index(whole, bytes.Repeat([]byte("0123456789abcdef"), 1000)) + 8000
	require.Greater(t, cut, 8000)
	require.NoError(t, attach.CopyTo(context.Background(), st, "/root", bytes.NewReader(whole)))
	fds, kids := fdCount(t), len(children(t))
	require.NoError(t, os.RemoveAll(filepath.Join(c.Rootfs, "root/tree")))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := attach.CopyTo(ctx, st, "/root", &blockingReader{ctx: ctx, data: whole[:cut]})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	ents, err := os.ReadDir(filepath.Join(c.Rootfs, "root"))
	require.NoError(t, err)
	assert.Empty(t, ents, "the cancelled copy left entries")

	require.NoError(t, attach.CopyTo(context.Background(), st, "/root", bytes.NewReader(whole)))
	ctx2, cancel2 := context.WithCancel(context.Background())
	rc, err := attach.CopyFrom(ctx2, st, "/root/tree")
	require.NoError(t, err)
	_, err = io.ReadFull(rc, make([]byte, 4096))
	require.NoError(t, err)
	cancel2()
	_, err = io.Copy(io.Discard, rc)
	assert.ErrorIs(t, err, context.Canceled)
	rc.Close()
	assert.Equal(t, fds, fdCount(t), "fds leaked")
	assert.Len(t, children(t), kids, "children left")
}
