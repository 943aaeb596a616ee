package state

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"nucleus/internal/proc"
)

// clockTicksPerSecond is USER_HZ, the unit of /proc/PID/stat starttime. The
// kernel fixes it at 100 on every architecture Go supports on Linux
// (sysconf(_SC_CLK_TCK) returns the same constant); reading it would need
// cgo or the auxiliary vector for no gain.
const clockTicksPerSecond = 100

// overflowID is what the kernel shows for an id with no mapping in a user
// namespace (/proc/sys/kernel/overflowuid and overflowgid default to 65534,
// "nobody"). FromPID uses it for an effective uid or gid it cannot map, so
// the result never silently becomes root inside.
const overflowID = 65534

// FromPID describes any running process as a container, so nucleus can
// attach to or probe a PID that no state file describes.
//
// It records the start ticks (the PID's identity), whether the process has
// its own user namespace (Rootless: its user namespace differs from the
// caller's), CreatorUID (for a process in a user namespace below the
// caller's, the owner of the outermost such namespace, NS_GET_OWNER_UID:
// the uid that created the container, which the kernel records and the
// process cannot change; else the process's real uid, /proc/PID/status, as
// the caller sees it), and the process identity as seen INSIDE the process's
// user namespace: the effective uid and gid and the supplementary groups of
// /proc/PID/status, which the kernel prints in the caller's terms, mapped
// through /proc/PID/uid_map and gid_map when the namespaces differ.
// Supplementary groups without a mapping are dropped (they cannot be passed
// to setgroups inside); an effective uid or gid without a mapping becomes
// 65534 (the kernel's overflow id, "nobody").
//
// Status is running, ID and Name are the PID in decimal, Command comes from
// /proc/PID/cmdline and StartedAt from the start ticks and the boot time
// (/proc/stat btime) at 100 ticks per second (USER_HZ).
//
// The start ticks are read again at the end: a process that exited and whose
// PID was reused while FromPID read its files yields ErrStale rather than a
// mixture of two processes. A PID that does not exist or is a zombie yields
// ErrNotRunning; a namespace the caller may not inspect yields ErrPermission.
//
// A process whose command line is a gVisor sandbox supervisor's (argv[0]
// runsc-sandbox, or runsc with a "boot" argument) CLAIMS to be one, and any
// process can make that claim: UsingGVisor is set, so that nothing joins
// its namespaces (a real sandbox's are not the workload's); ID and Name
// become the claimed sandbox id (boot's last argument, the id of its first
// container, what `runsc exec` takes), and RuntimeRoot and CreatorUID are
// filled as described at ContainerState.RuntimeRoot. The identity stays the
// process's own: the bundle its command line names is not read. Before any
// runsc command acts on the claim, the attach engine verifies it against
// the kernel (see ContainerState.UsingGVisor).
func FromPID(pid int) (*ContainerState, error) {
	return inspect(pid, "from pid "+strconv.Itoa(pid), "")
}

// inspect describes the live process pid (see FromPID); where names the
// caller's step in errors ("from pid 42", "from oci: container \"x\": pid 42").
// FromPID and FromOCI share it so that both read a process the same way.
// bundle is the OCI bundle the caller knows the process by, "" when none: a
// gVisor sandbox's identity is read from that bundle's config.json.
func inspect(pid int, where, bundle string) (*ContainerState, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("state: %s: invalid pid: %w", where, ErrNotRunning)
	}
	st, err := proc.ReadStat(pid)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w: %w", where, ErrNotRunning, err)
	}
	if st.State == 'Z' || st.State == 'X' {
		return nil, fmt.Errorf("state: %s: process has exited (zombie): %w", where, ErrNotRunning)
	}
	status, err := proc.ReadStatus(pid)
	if err != nil {
		return nil, readErr(where, "status", err)
	}
	if status.Tgid != 0 && status.Tgid != pid {
		// /proc/TID exists for every thread, but a thread is not a
		// process: pidfd_open(2) refuses it and its process is Tgid.
		return nil, fmt.Errorf("state: %s: a thread of process %d, not a process", where, status.Tgid)
	}
	targetNS, err := proc.NamespaceID(pid, "user")
	if err != nil {
		return nil, readErr(where, "user namespace", err)
	}
	selfNS, err := selfUserNS()
	if err != nil {
		return nil, fmt.Errorf("state: %s: own user namespace: %w", where, err)
	}
	s := &ContainerState{
		ID:         strconv.Itoa(pid),
		Name:       strconv.Itoa(pid),
		PID:        pid,
		StartTicks: st.StartTicks,
		Status:     StatusRunning,
		Rootless:   targetNS != selfNS,
		CreatorUID: status.UID[0],
		ProcessUID: status.UID[1],
		ProcessGID: status.GID[1],
	}
	groups := append([]uint32(nil), status.Groups...)
	if s.Rootless {
		// The real uid is the process's own choice among its mapped ids
		// (setresuid with CAP_SETUID in its namespace); the owner of its
		// user namespace is the kernel's record of who made the container.
		// A namespace not below the caller's cannot be joined anyway; its
		// real uid is kept.
		if owner, err := proc.UserNSOwner(pid); err == nil {
			s.CreatorUID = owner
		} else if !errors.Is(err, proc.ErrNotBelow) {
			return nil, readErr(where, "user namespace owner", err)
		}
		uidMap, err := proc.ReadIDMap(pid, "uid_map")
		if err != nil {
			return nil, readErr(where, "uid map", err)
		}
		gidMap, err := proc.ReadIDMap(pid, "gid_map")
		if err != nil {
			return nil, readErr(where, "gid map", err)
		}
		s.ProcessUID = mapOrOverflow(uidMap, s.ProcessUID)
		s.ProcessGID = mapOrOverflow(gidMap, s.ProcessGID)
		groups = groups[:0]
		for _, g := range status.Groups {
			if in, ok := proc.ToInside(gidMap, g); ok {
				groups = append(groups, in)
			}
		}
	}
	if len(groups) > 0 {
		s.AdditionalGIDs = groups
	}
	cmdline, err := proc.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil, readErr(where, "cmdline", err)
	}
	s.Command = splitCmdline(cmdline)
	if bt, err := bootTime(); err == nil {
		s.StartedAt = startTime(bt, st.StartTicks)
	} else {
		return nil, fmt.Errorf("state: %s: %w", where, err)
	}
	// Everything above must describe one process: check it is still the one
	// whose start ticks were recorded.
	again, err := proc.ReadStat(pid)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w: %w", where, ErrNotRunning, err)
	}
	if again.StartTicks != st.StartTicks {
		return nil, fmt.Errorf("state: %s: pid reused while reading (start ticks %d then %d): %w", where, st.StartTicks, again.StartTicks, ErrStale)
	}
	if sb, ok := parseSandbox(s.Command); ok {
		s.setSandbox(sb, bundle)
	}
	return s, nil
}

// readErr classifies a read error: gone → ErrNotRunning, refused →
// ErrPermission.
func readErr(where, what string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ESRCH):
		return fmt.Errorf("state: %s: %s: %w: %w", where, what, ErrNotRunning, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("state: %s: %s: %w: %w", where, what, ErrPermission, err)
	}
	return fmt.Errorf("state: %s: %s: %w", where, what, err)
}

func mapOrOverflow(m []proc.IDMapping, id uint32) uint32 {
	if in, ok := proc.ToInside(m, id); ok {
		return in
	}
	return overflowID
}

// splitCmdline splits /proc/PID/cmdline at NUL bytes. A kernel thread or a
// zombie has an empty cmdline and yields an empty, non-nil slice.
func splitCmdline(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return []string{}
	}
	return strings.Split(string(b), "\x00")
}

// startTime converts start ticks after boot into wall-clock time.
func startTime(btime int64, ticks uint64) time.Time {
	secs := ticks / clockTicksPerSecond
	frac := ticks % clockTicksPerSecond
	return time.Unix(btime+int64(secs), int64(frac)*int64(time.Second/clockTicksPerSecond)).UTC()
}

// bootTime returns /proc/stat btime (seconds since the epoch). The kernel
// derives it from the wall clock minus the time since boot, so it moves when
// the clock is stepped; it is read once per process so that StartedAt of the
// same process is the same on every call. StartedAt is informational; the
// identity of a process is its start ticks.
// selfUserNS is the caller's user namespace, read once per process: a
// multi-threaded process cannot change it (setns(2) and unshare(2) of
// CLONE_NEWUSER refuse a threaded caller with EINVAL), and every Go program
// is multi-threaded.
var selfUserNS = sync.OnceValues(func() (proc.NSID, error) { return proc.NamespaceID(0, "user") })

var bootTime = sync.OnceValues(func() (int64, error) {
	b, err := proc.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("boot time: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			bt, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("boot time: /proc/stat btime: %w", err)
			}
			return bt, nil
		}
	}
	return 0, errors.New("boot time: no btime in /proc/stat")
})
