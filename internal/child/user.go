package child

import (
	"errors"
	"strconv"
	"syscall"

	"nucleus/internal/hardencore"
)

// The container's user database, read inside its mount namespace (the
// child has joined it): never through a host path, where a symlink in the
// container's rootfs would be resolved against the host's root.
// (Variables only so that unit tests can point them at test files.)
var (
	passwdFile = "/etc/passwd"
	groupFile  = "/etc/group"
)

// maxUserFile bounds what is read of either file.
const maxUserFile = MaxConfig

// The files belong to the container, which may be hostile. The rules:
//   - a missing file is an empty database (distroless and scratch images
//     have none): HOME is then "/" and only numeric ids resolve, as with
//     runc and docker;
//   - anything else that is not a plain text file of sane size — a FIFO, a
//     device, a directory, more than maxUserFile bytes, or a NUL byte in
//     the entry nucleus would use — is an error naming the file, not a
//     silent fallback: a NUL byte in a home directory used to surface as
//     `exec "/bin/sh": invalid argument` (issue #9, item 5), and a
//     tampered user database is worth a clear refusal. Setting HOME (and a
//     numeric user) avoids the lookup altogether.

// userFile is one of the container's user database files, split in lines.
type userFile struct {
	path  string
	lines [][]byte // nil when the file does not exist
}

// readUserFile reads path inside the container: a regular file, opened
// without blocking on a FIFO and without acquiring a terminal, read up to
// maxUserFile bytes.
func readUserFile(path string) (*userFile, error) {
	f := &userFile{path: path}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err == syscall.ENOENT {
		return f, nil
	}
	if err != nil {
		return nil, f.fail("open: " + err.Error())
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, f.fail("fstat: " + err.Error())
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, f.fail("not a regular file")
	}
	b, err := hardencore.ReadFD(fd, maxUserFile+1)
	if err != nil {
		return nil, f.fail("read: " + err.Error())
	}
	if len(b) > maxUserFile {
		return nil, f.fail("larger than " + strconv.Itoa(maxUserFile) + " bytes")
	}
	for len(b) > 0 {
		line := b
		if i := indexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		f.lines = append(f.lines, line)
	}
	if f.lines == nil {
		f.lines = [][]byte{}
	}
	return f, nil
}

func (f *userFile) fail(why string) error {
	return errors.New("container's " + f.path + ": " + why)
}

// nulError refuses line i, which holds a NUL byte: its fields would
// become execve arguments (HOME) and identities.
func (f *userFile) nulError(i int) error {
	return f.fail("line " + strconv.Itoa(i+1) + " contains a NUL byte")
}

// passwdEntry is one line of passwd(5) that nucleus uses.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

// findPasswd returns the first entry whose name is name or, when numeric
// is set, whose uid is uid (first match wins, as with glibc and moby).
// Lines that are not name:pw:uid:gid:gecos:home:shell with numeric ids are
// skipped: unlike a lenient parser, a malformed uid never reads as 0.
func (f *userFile) findPasswd(name string, uid uint32, numeric bool) (*passwdEntry, error) {
	for i, line := range f.lines {
		fields := split(string(line), ':')
		if len(fields) < 7 {
			continue
		}
		u, uerr := parseID(fields[2])
		g, gerr := parseID(fields[3])
		if uerr != nil || gerr != nil {
			continue
		}
		if (numeric && u == uid) || (!numeric && fields[0] == name) {
			if indexByte(line, 0) >= 0 {
				// Only the entry that would be used is refused.
				return nil, f.nulError(i)
			}
			return &passwdEntry{name: fields[0], uid: u, gid: g, home: fields[5]}, nil
		}
	}
	return nil, nil
}

// groupEntry is one line of group(5).
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// groups returns the well-formed entries for which match is true; a
// matching line with a NUL byte is an error.
func (f *userFile) groups(match func(groupEntry) bool) ([]groupEntry, error) {
	var out []groupEntry
	for i, line := range f.lines {
		nul := indexByte(line, 0) >= 0
		fields := split(string(line), ':')
		if len(fields) < 4 {
			continue
		}
		gid, err := parseID(fields[2])
		if err != nil {
			continue
		}
		g := groupEntry{name: fields[0], gid: gid}
		if fields[3] != "" {
			g.members = split(fields[3], ',')
		}
		if !match(g) {
			continue
		}
		if nul {
			return nil, f.nulError(i)
		}
		out = append(out, g)
	}
	return out, nil
}

// maxID is the largest uid or gid a user spec may name (moby and runc
// refuse larger ones; 2^32-1 is the kernel's "no id").
const maxID = 1<<31 - 1

var errBadID = errors.New("not an id")

// parseID parses a decimal uid or gid in [0, maxID].
func parseID(s string) (uint32, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, errBadID
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v > maxID {
		return 0, errBadID
	}
	return uint32(v), nil
}

// resolveUser resolves a user spec — "user", "uid", "user:group",
// "uid:gid" and the mixed forms — against the container's /etc/passwd and
// /etc/group with the rules of `docker exec -u` (moby's GetExecUser, which
// runc also applies):
//   - the user part matches an entry by name, or by uid when numeric; the
//     entry gives the uid, the primary gid and HOME. A name without an
//     entry is an error; a numeric uid without one is that uid with gid 0
//     (docker's default) and HOME "/";
//   - without a group part, the supplementary groups are the gids of
//     every /etc/group entry that lists the user's name (none when no
//     entry matched);
//   - a group part replaces the primary gid (by name: the group must
//     exist; numeric: any gid) and then no supplementary group is added.
func resolveUser(spec string) (hardencore.Identity, string, error) {
	var id hardencore.Identity
	usr, grp, hasGroup := cut(spec, ':')
	passwd, err := readUserFile(passwdFile)
	if err != nil {
		return id, "", err
	}
	uid, uerr := parseID(usr)
	numeric := uerr == nil
	pw, err := passwd.findPasswd(usr, uid, numeric)
	if err != nil {
		return id, "", err
	}
	home := "/"
	switch {
	case pw != nil:
		id.UID, id.GID = pw.uid, pw.gid
		if hasPrefix(pw.home, "/") {
			home = pw.home
		}
	case numeric:
		id.UID = uid
	default:
		return id, "", errors.New("no entry in the container's " + passwdFile)
	}
	if !hasGroup && pw == nil {
		return id, home, nil
	}
	group, err := readUserFile(groupFile)
	if err != nil {
		return id, "", err
	}
	if hasGroup {
		gid, gerr := parseID(grp)
		found, err := group.groups(func(g groupEntry) bool {
			return (gerr == nil && g.gid == gid) || (gerr != nil && g.name == grp)
		})
		if err != nil {
			return id, "", err
		}
		switch {
		case len(found) > 0:
			id.GID = found[0].gid
		case gerr == nil:
			id.GID = gid
		default:
			return id, "", errors.New("group " + quoteText(grp) + ": no entry in the container's " + groupFile)
		}
		return id, home, nil
	}
	found, err := group.groups(func(g groupEntry) bool {
		for _, m := range g.members {
			if m == pw.name {
				return true
			}
		}
		return false
	})
	if err != nil {
		return id, "", err
	}
	for _, g := range found {
		id.AdditionalGIDs = append(id.AdditionalGIDs, g.gid)
	}
	return id, home, nil
}

// homeOf returns the home directory of uid in the container's /etc/passwd:
// "/" when the file or the entry is missing or the home is not absolute
// (runc's default), an error when the file is hostile (see above).
func homeOf(uid uint32) (string, error) {
	passwd, err := readUserFile(passwdFile)
	if err != nil {
		return "", err
	}
	pw, err := passwd.findPasswd("", uid, true)
	if err != nil {
		return "", err
	}
	if pw == nil || !hasPrefix(pw.home, "/") {
		return "/", nil
	}
	return pw.home, nil
}
