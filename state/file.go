package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxStateFile bounds how much of a state file is read; real files are a
// few hundred bytes, and a huge file in a shared directory must not exhaust
// memory.
const maxStateFile = 4 << 20

// ValidateID checks that id can name a state file: not empty, no '/', not
// "." or containing "..", no NUL. The id becomes a file name inside the state
// directory, so anything that could step out of it is refused.
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("empty id")
	case id == ".":
		return fmt.Errorf("invalid id %q", id)
	case strings.Contains(id, "/"):
		return fmt.Errorf("invalid id %q: contains '/'", id)
	case strings.Contains(id, ".."):
		return fmt.Errorf("invalid id %q: contains \"..\"", id)
	case strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("invalid id %q: contains NUL", id)
	case len(id)+len(".json") > 255:
		return fmt.Errorf("invalid id: longer than %d bytes", 255-len(".json"))
	}
	return nil
}

// Load reads <dir>/<id>.json (see LoadFile) and checks that the file's id is
// id, so a file renamed or planted under another container's name is not
// taken for that container.
func Load(dir, id string) (*ContainerState, error) {
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("state: load: %w", err)
	}
	p := filepath.Join(dir, id+".json")
	s, err := LoadFile(p)
	if err != nil {
		return nil, err
	}
	if s.ID != id {
		return nil, fmt.Errorf("state: load %s: file holds id %q, want %q", p, s.ID, id)
	}
	return s, nil
}

// LoadFile reads and validates a nucleus state file.
//
// Neither the file nor its directory may be a symbolic link (the last
// component of each is opened with O_NOFOLLOW, so there is no window between
// a check and the open): a state file is trusted to name a process to enter,
// so it must be the file its owner wrote, not one a symlink points to. The
// file must be a regular file (a FIFO would block; opened O_NONBLOCK to be
// sure). A missing or null "status" reads as stopped; an unknown status, an
// invalid id and malformed JSON are errors naming the file.
func LoadFile(path string) (*ContainerState, error) {
	dirfd, err := openDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("state: load %s: %w", path, err)
	}
	defer unix.Close(dirfd)
	base := filepath.Base(path)
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("state: load %s: refusing a symbolic link", path)
		}
		return nil, fmt.Errorf("state: load %s: %w", path, &os.PathError{Op: "open", Path: path, Err: err})
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("state: load %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("state: load %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, fmt.Errorf("state: load %s: %w", path, err)
	}
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("state: load %s: file larger than %d bytes", path, maxStateFile)
	}
	s, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("state: load %s: %w", path, err)
	}
	return s, nil
}

// parse decodes and validates state file contents.
func parse(b []byte) (*ContainerState, error) {
	s := &ContainerState{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if s.Status == "" {
		s.Status = StatusStopped
	}
	if !s.Status.valid() {
		return nil, fmt.Errorf("unknown status %q", s.Status)
	}
	if err := ValidateID(s.ID); err != nil {
		return nil, err
	}
	return s, nil
}

// openDir opens dir as a directory without following a final symlink.
func openDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			if fi, lerr := os.Lstat(dir); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
				return -1, fmt.Errorf("directory %s is a symbolic link", dir)
			}
		}
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

// Save writes the state to <dir>/<id>.json atomically: the JSON goes to a
// temporary file in dir (created 0600, O_EXCL, never through a symlink),
// which is fsynced and renamed over the target, and then dir is fsynced so
// the rename survives a crash. Readers never see a partial file.
//
// dir is created with mode 0700 (and missing parents with 0700) when it does
// not exist; it must not be a symbolic link, and it must be owned by the
// caller's effective uid or by root, because whoever owns the directory can
// replace the files in it. An existing directory's mode is left alone.
func (s *ContainerState) Save(dir string) error {
	if err := ValidateID(s.ID); err != nil {
		return fmt.Errorf("state: save: %w", err)
	}
	if s.Status != "" && !s.Status.valid() {
		return fmt.Errorf("state: save %s: unknown status %q", s.ID, s.Status)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state: save %s: encode: %w", s.ID, err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state: save %s: %w", s.ID, err)
	}
	dirfd, err := openDir(dir)
	if err != nil {
		return fmt.Errorf("state: save %s: %w", s.ID, err)
	}
	defer unix.Close(dirfd)
	var st unix.Stat_t
	if err := unix.Fstat(dirfd, &st); err != nil {
		return fmt.Errorf("state: save %s: stat %s: %w", s.ID, dir, err)
	}
	if euid := uint32(os.Geteuid()); st.Uid != euid && st.Uid != 0 {
		return fmt.Errorf("state: save %s: directory %s is owned by uid %d, not by uid %d or root", s.ID, dir, st.Uid, euid)
	}

	final := s.ID + ".json"
	var tmp string
	var fd int
	for range 100 {
		tmp = "." + s.ID + ".json." + strconv.FormatUint(rand.Uint64(), 36) + ".tmp"
		if len(tmp) > 255 {
			tmp = ".nucleus-state." + strconv.FormatUint(rand.Uint64(), 36) + ".tmp"
		}
		fd, err = unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("state: save %s: create temporary file in %s: %w", s.ID, dir, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, tmp))
	committed := false
	defer func() {
		if !committed {
			_ = unix.Unlinkat(dirfd, tmp, 0)
		}
	}()
	// The umask may have removed bits from 0600; make the mode exact.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("state: save %s: chmod: %w", s.ID, err)
	}
	if _, err := io.Copy(f, bytes.NewReader(b)); err != nil {
		f.Close()
		return fmt.Errorf("state: save %s: write: %w", s.ID, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("state: save %s: fsync: %w", s.ID, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state: save %s: close: %w", s.ID, err)
	}
	if err := unix.Renameat(dirfd, tmp, dirfd, final); err != nil {
		return fmt.Errorf("state: save %s: rename into %s: %w", s.ID, dir, err)
	}
	committed = true
	if err := unix.Fsync(dirfd); err != nil {
		return fmt.Errorf("state: save %s: fsync %s: %w", s.ID, dir, err)
	}
	return nil
}

// DefaultDir returns the directory state files live in when the caller does
// not name one: $NUCLEUS_STATE_DIR when set; else /var/run/nucleus for root
// (euid 0); else $XDG_RUNTIME_DIR/nucleus (a per-user tmpfs that only the
// user can enter).
//
// Without XDG_RUNTIME_DIR (no login session, e.g. cron or a container), it
// falls back to os.TempDir()/nucleus-<uid>. That directory sits in a shared,
// world-writable place and another user could create it first; Save
// therefore refuses a directory that is a symlink or owned by anyone but the
// caller or root, and files are 0600, but callers that care should set
// NUCLEUS_STATE_DIR.
func DefaultDir() string {
	return defaultDir(os.Geteuid())
}

func defaultDir(euid int) string {
	if d := os.Getenv("NUCLEUS_STATE_DIR"); d != "" {
		return d
	}
	if euid == 0 {
		return "/var/run/nucleus"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "nucleus")
	}
	return filepath.Join(os.TempDir(), "nucleus-"+strconv.Itoa(euid))
}
