package proc

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// CgroupDir is one line of /proc/PID/cgroup resolved to a directory the
// caller can open (cgroups(7)).
type CgroupDir struct {
	// Hierarchy is the hierarchy id: 0 for cgroup v2, >0 for v1.
	Hierarchy int
	// Controllers is the comma-separated controller list as printed, e.g.
	// "cpu,cpuacct", "name=systemd", or "" for cgroup v2.
	Controllers string
	// Path is the cgroup as printed in /proc/PID/cgroup: relative to the
	// root of the caller's cgroup namespace.
	Path string
	// Dir is that cgroup's directory in the caller's mount namespace; it
	// holds the cgroup.procs file a process is moved in by writing its PID.
	Dir string
}

// Cgroups returns the cgroup of pid (0 = self) in every hierarchy listed in
// /proc/PID/cgroup, each resolved to a directory on the caller's file system.
//
// A hierarchy is resolved through /proc/self/mountinfo: a cgroup v1 line is
// matched to a "cgroup" mount whose super options hold exactly its controller
// set (or its name=xxx), the v2 "0::" line to a "cgroup2" mount. A cgroup
// file system may be mounted from a subdirectory of the hierarchy (the
// mountinfo root field, e.g. inside a container or a bind mount); then
// Dir = mount point + (Path relative to that root), and a mount whose root
// does not contain Path cannot be used.
//
// Lines that cannot be resolved are left out: a hierarchy not mounted in the
// caller's mount namespace, a v2 line on a v1-only host (the kernel prints
// "0::/" even when no cgroup2 is mounted), or a Path outside the caller's
// cgroup namespace (it then starts with "/.."). Callers that must cover every
// hierarchy (moving a process into a container's cgroups) should compare the
// result with the controllers they care about. An error is returned only when
// the files cannot be read or parsed.
//
// The parsed mount table is cached per mount namespace; see mountCache for
// why that is safe.
func Cgroups(pid int) ([]CgroupDir, error) { return CgroupsWhere(pid, nil) }

// CgroupsWhere is Cgroups for only the lines keep accepts (all when keep is
// nil), given their hierarchy id and controller list: each resolved line
// costs a statfs, so a caller that wants one controller should not pay for
// ten.
func CgroupsWhere(pid int, keep func(hierarchy int, controllers string) bool) ([]CgroupDir, error) {
	if pid < 0 {
		return nil, fmt.Errorf("proc: cgroups: invalid pid %d", pid)
	}
	p := procPath(pid, "cgroup")
	b, err := ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("proc: cgroups: %w", err)
	}
	lines, err := parseCgroupFile(b)
	if err != nil {
		return nil, fmt.Errorf("proc: cgroups: %s: %w", p, err)
	}
	if keep != nil {
		kept := lines[:0]
		for _, l := range lines {
			if keep(l.hier, l.controllers) {
				kept = append(kept, l)
			}
		}
		lines = kept
	}
	mounts, err := cachedCgroupMounts(false)
	if err != nil {
		return nil, err
	}
	out, ok := resolveCgroups(lines, mounts)
	if !ok {
		// Something did not resolve or a resolved directory is gone: the
		// mount table may have changed since it was cached. Parse it again
		// once and use that answer.
		if mounts, err = cachedCgroupMounts(true); err != nil {
			return nil, err
		}
		out, _ = resolveCgroups(lines, mounts)
	}
	return out, nil
}

type cgroupLine struct {
	hier        int
	controllers string
	path        string
}

func parseCgroupFile(b []byte) ([]cgroupLine, error) {
	var out []cgroupLine
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		// hierarchy-ID:controller-list:cgroup-path; the path may contain ':'.
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		h, err := strconv.Atoi(f[0])
		if err != nil || h < 0 {
			return nil, fmt.Errorf("malformed hierarchy id in %q", line)
		}
		if !strings.HasPrefix(f[2], "/") {
			return nil, fmt.Errorf("cgroup path not absolute in %q", line)
		}
		out = append(out, cgroupLine{hier: h, controllers: f[1], path: f[2]})
	}
	return out, nil
}

// cgroupMount is a cgroup or cgroup2 entry of mountinfo.
type cgroupMount struct {
	v2         bool
	root       string          // field 4: path of the mount's root within the hierarchy
	mountPoint string          // field 5
	opts       map[string]bool // super options (v1 controllers, name=xxx)
}

// resolveCgroups maps lines to directories. ok is false when a line that
// should have resolved did not, or a resolved directory is not on a cgroup
// file system: the caller then refreshes the cache and tries again.
func resolveCgroups(lines []cgroupLine, mounts []cgroupMount) ([]CgroupDir, bool) {
	ok := true
	var out []CgroupDir
	for _, l := range lines {
		if strings.HasPrefix(l.path, "/..") {
			continue // outside our cgroup namespace: no directory can name it
		}
		dir, found := findCgroupDir(l, mounts)
		if !found {
			// A v1 line always has a mounted hierarchy somewhere, maybe in a
			// mount namespace we cannot see; retry once in case it is new.
			// The v2 line exists even with nothing mounted: only retry when
			// a cgroup2 mount is known to exist.
			if l.hier != 0 || hasV2(mounts) {
				ok = false
			}
			continue
		}
		if !onCgroupFS(dir, l.hier == 0) {
			ok = false
			continue
		}
		out = append(out, CgroupDir{Hierarchy: l.hier, Controllers: l.controllers, Path: l.path, Dir: dir})
	}
	return out, ok
}

func hasV2(mounts []cgroupMount) bool {
	for _, m := range mounts {
		if m.v2 {
			return true
		}
	}
	return false
}

// findCgroupDir picks, among the mounts of l's hierarchy whose root contains
// l.path, the one with the longest root (the most specific; any would do as
// they show the same directory), and joins the rest of the path to it.
func findCgroupDir(l cgroupLine, mounts []cgroupMount) (string, bool) {
	var want []string
	if l.hier != 0 {
		if l.controllers == "" {
			return "", false
		}
		want = strings.Split(l.controllers, ",")
	}
	best := -1
	var bestDir string
	for _, m := range mounts {
		if m.v2 != (l.hier == 0) {
			continue
		}
		if !m.v2 && !sameControllers(m.opts, want) {
			continue
		}
		rel, ok := under(m.root, l.path)
		if !ok {
			continue
		}
		if len(m.root) > best {
			best = len(m.root)
			bestDir = path.Join(m.mountPoint, rel)
		}
	}
	return bestDir, best >= 0
}

// sameControllers reports whether the mount's super options hold exactly the
// controllers of the line: "cpu,cpuacct" must match a mount of that combined
// hierarchy, not a separate "cpu" one. Non-controller options (rw, ro,
// clone_children, xattr, ...) are ignored: the wanted set must be present and
// no other known controller or name= may be.
func sameControllers(opts map[string]bool, want []string) bool {
	wanted := make(map[string]bool, len(want))
	for _, c := range want {
		if !opts[c] {
			return false
		}
		wanted[c] = true
	}
	n := 0
	for o := range opts {
		if wanted[o] || strings.HasPrefix(o, "name=") || v1Controllers[o] {
			n++
		}
	}
	return n == len(wanted)
}

// v1Controllers are the cgroup v1 controller names a super option can hold.
var v1Controllers = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true,
	"freezer": true, "net_cls": true, "net_prio": true, "blkio": true, "perf_event": true,
	"hugetlb": true, "pids": true, "rdma": true, "misc": true, "debug": true,
}

// under returns p relative to root when p is root or below it.
func under(root, p string) (string, bool) {
	root = path.Clean(root)
	p = path.Clean(p)
	if root == "/" {
		return p, true
	}
	if p == root {
		return "/", true
	}
	if strings.HasPrefix(p, root+"/") {
		return p[len(root):], true
	}
	return "", false
}

// onCgroupFS checks that dir is a directory on a cgroup (v1) or cgroup2 file
// system, so a stale cache or a mount shadowed by another one is noticed.
func onCgroupFS(dir string, v2 bool) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	if v2 {
		return st.Type == unix.CGROUP2_SUPER_MAGIC
	}
	return st.Type == unix.CGROUP_SUPER_MAGIC
}

// mountCache holds the cgroup mounts of /proc/self/mountinfo, parsed once.
//
// Caching is safe because it is never trusted blindly:
//   - it is keyed by the caller's mount namespace (the NSID of
//     /proc/self/ns/mnt), so a process that switched mount namespace parses
//     again;
//   - every directory resolved from it is checked with statfs(2) to be on a
//     cgroup file system of the right version, and any line that fails to
//     resolve or check triggers one fresh parse; a mount added, removed or
//     shadowed after the cache was filled is therefore seen on the next call.
//
// The remaining window (a mount changed between the check and the caller's
// use of Dir) exists with or without the cache.
var mountCache struct {
	sync.Mutex
	ns     NSID
	mounts []cgroupMount
	valid  bool
}

func cachedCgroupMounts(refresh bool) ([]cgroupMount, error) {
	ns, err := NamespaceID(0, "mnt")
	if err != nil {
		return nil, fmt.Errorf("proc: cgroups: %w", err)
	}
	mountCache.Lock()
	defer mountCache.Unlock()
	if !refresh && mountCache.valid && mountCache.ns == ns {
		return mountCache.mounts, nil
	}
	b, err := ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("proc: cgroups: %w", err)
	}
	mounts, err := parseCgroupMounts(b)
	if err != nil {
		return nil, fmt.Errorf("proc: cgroups: /proc/self/mountinfo: %w", err)
	}
	mountCache.ns, mountCache.mounts, mountCache.valid = ns, mounts, true
	return mounts, nil
}

// parseCgroupMounts extracts the cgroup and cgroup2 mounts from mountinfo
// (proc(5)): "id parent maj:min root mountpoint opts [optional...] - fstype
// source superopts". root and mountpoint escape space, tab, newline and
// backslash as \ooo octal.
func parseCgroupMounts(b []byte) ([]cgroupMount, error) {
	var out []cgroupMount
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		f := strings.Fields(string(line))
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || len(f) < sep+4 {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		fstype := f[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		root, err := unescapeMountField(f[3])
		if err != nil {
			return nil, err
		}
		mp, err := unescapeMountField(f[4])
		if err != nil {
			return nil, err
		}
		m := cgroupMount{v2: fstype == "cgroup2", root: root, mountPoint: mp, opts: map[string]bool{}}
		for _, o := range strings.Split(f[sep+3], ",") {
			m.opts[o] = true
		}
		out = append(out, m)
	}
	return out, nil
}

func unescapeMountField(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if i+4 > len(s) {
				return "", errors.New("bad escape in " + strconv.Quote(s))
			}
			v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				return "", errors.New("bad escape in " + strconv.Quote(s))
			}
			sb.WriteByte(byte(v))
			i += 3
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String(), nil
}
