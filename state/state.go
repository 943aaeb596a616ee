package state

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"nucleus/internal/proc"
)

// Status is the lifecycle state recorded in a state file.
type Status string

// The statuses a nucleus state file can hold (the Rust nucleus-container
// values, lowercase).
const (
	// StatusCreating: the container's process is being set up.
	StatusCreating Status = "creating"
	// StatusCreated: set up, user process not started yet.
	StatusCreated Status = "created"
	// StatusRunning: the container's process runs.
	StatusRunning Status = "running"
	// StatusStopped: the container's process has exited. A state file
	// without a status is read as stopped, the safe default: nucleus never
	// attaches to a container it cannot show to be running.
	StatusStopped Status = "stopped"
	// StatusPaused: the container's processes are frozen (`runc pause`, its
	// cgroup freezer). Only OCI runtime states have it (FromOCI); it is not a
	// status of the nucleus state file format, so Save refuses it and
	// LoadFile rejects it. CheckRunning refuses a paused container, as
	// `runc exec` does: a process joining its cgroups would be frozen too.
	StatusPaused Status = "paused"
)

func (s Status) valid() bool {
	switch s {
	case StatusCreating, StatusCreated, StatusRunning, StatusStopped:
		return true
	}
	return false
}

// Sentinel errors, matched with errors.Is. attach and probe re-export them.
var (
	// ErrNotRunning: the target is not running (stopped, exited, zombie, no
	// valid PID).
	ErrNotRunning = errors.New("container is not running")
	// ErrStale: the PID is alive but belongs to a different process than the
	// state describes (start ticks differ or were never recorded): the PID
	// was reused, and acting on it would hit an unrelated process.
	ErrStale = errors.New("container state is stale: pid belongs to another process")
	// ErrPermission: the caller may not act on the target (neither root nor
	// the container's creator, or the kernel refused access).
	ErrPermission = errors.New("permission denied")
	// ErrUnsupported: the target or the kernel lacks what the operation
	// needs (for example a gVisor sandbox for attach).
	ErrUnsupported = errors.New("operation not supported")
)

// ProcessIdentity is the uid, gid and supplementary groups a process runs
// with, AS SEEN INSIDE the container's user namespace (for a container
// without its own user namespace, inside and host ids are the same). This is
// what setresuid/setresgid/setgroups take after joining that namespace.
type ProcessIdentity struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGIDs []uint32 `json:"additional_gids,omitempty"`
}

// ContainerState describes a container nucleus can attach to. Its JSON form
// is the nucleus state file (the keys of the Rust nucleus-container 0.3, so
// files are exchangeable), stored as <dir>/<id>.json.
//
// PID together with StartTicks names the container's init process: a PID can
// be reused once its process is gone, the pair cannot. Every check of
// liveness compares both.
type ContainerState struct {
	// ID names the state file; it must not be empty, contain '/' or "..".
	ID string `json:"id"`
	// Name is a human-readable name.
	Name string `json:"name"`
	// PID is the container's init process as seen from the host.
	PID int `json:"pid"`
	// Command is the container's command line.
	Command []string `json:"command"`
	// StartedAt is when the container's process started (RFC 3339 in JSON).
	StartedAt time.Time `json:"started_at"`
	// MemoryLimit in bytes, nil when unlimited.
	MemoryLimit *uint64 `json:"memory_limit"`
	// CPULimit in CPUs, nil when unlimited.
	CPULimit *float64 `json:"cpu_limit"`
	// UsingGVisor: the PID is a gVisor sandbox supervisor; its namespaces
	// are not the workload's, so they are never joined. FromPID and FromOCI
	// set it from the process's command line, which the process chooses,
	// so together with ID and RuntimeRoot it is a claim: attach and probes
	// act on it only once the kernel and the runsc root vouch for it (the
	// PID's /proc/PID/exe is the runsc binary that is run, by device and
	// inode; `runsc --root RuntimeRoot state ID` reports this PID and start
	// ticks; the pinned pidfd is still alive afterwards), and refuse it
	// otherwise (ErrPermission).
	UsingGVisor bool `json:"using_gvisor"`
	// RuntimeRoot is, for a gVisor target, the state directory of the runsc
	// that runs the sandbox (its global --root flag, read from the
	// sandbox's command line, else runsc's default /var/run/runsc): what a
	// later `runsc --root RuntimeRoot exec ID ...` needs, together with ID
	// (the OCI container id). Empty for other targets, and then absent from
	// the JSON, so state files stay those of the Rust nucleus-container.
	//
	// A process can rewrite its own command line, so the directory is
	// checked when the state is made: an absolute, clean path to a
	// directory (not a symlink) owned by root or by the caller and writable
	// by no one else. When it fails the check RuntimeRoot stays empty (and
	// `runsc exec` must then be refused) and CreatorUID is 0.
	// For a gVisor target CreatorUID is that directory's owner (the sandbox
	// supervisor itself runs as an unrelated uid such as nobody). With
	// FromOCI, ProcessUID, ProcessGID and AdditionalGIDs come from
	// process.user of the config.json of the caller's bundle when it can be
	// read, else from the supervisor; FromPID leaves the supervisor's. A
	// command run through runsc exec defaults to process.user of the bundle
	// that `runsc state` reports (the identity `runsc exec` uses).
	RuntimeRoot string `json:"runtime_root,omitempty"`
	// Rootless: the container runs in its own user namespace.
	Rootless bool `json:"rootless"`
	// CgroupPath is the container's cgroup directory, if known.
	CgroupPath string `json:"cgroup_path"`
	// ConfigHash is a hash of the configuration it was created from.
	ConfigHash uint64 `json:"config_hash"`
	// CreatorUID is the host uid that created the container; besides root it
	// is the only uid allowed to attach.
	CreatorUID uint32 `json:"creator_uid"`
	// ProcessUID, ProcessGID and AdditionalGIDs are the container process's
	// identity inside its user namespace (see ProcessIdentity).
	ProcessUID     uint32   `json:"process_uid"`
	ProcessGID     uint32   `json:"process_gid"`
	AdditionalGIDs []uint32 `json:"additional_gids"`
	// StartTicks is field 22 of /proc/PID/stat when the state was recorded.
	StartTicks uint64 `json:"start_ticks"`
	// Status is the recorded lifecycle state; missing in JSON means stopped.
	Status Status `json:"status"`
	// BundlePath is the OCI bundle directory, if any.
	BundlePath string `json:"bundle_path"`
	// Annotations are free-form key/value pairs.
	Annotations map[string]string `json:"annotations"`
}

// Identity returns the identity a command attached to the container runs
// with by default: the container process's own (inside ids).
func (s *ContainerState) Identity() ProcessIdentity {
	var groups []uint32
	if len(s.AdditionalGIDs) > 0 {
		groups = append([]uint32(nil), s.AdditionalGIDs...)
	}
	return ProcessIdentity{UID: s.ProcessUID, GID: s.ProcessGID, AdditionalGIDs: groups}
}

// IsRunning reports whether the state describes a live process that can be
// entered: status is neither stopped nor paused, /proc/PID/stat is readable
// with non-zero start ticks equal to StartTicks, and its cgroup is not
// frozen. See CheckRunning for the reason when it is false.
func (s *ContainerState) IsRunning() bool {
	return s.CheckRunning() == nil
}

// CheckRunning returns nil when the state describes a live process, else an
// error naming the container and PID that wraps ErrNotRunning (PID <= 0,
// status stopped or paused, /proc/PID/stat unreadable, the process is a
// zombie, or its cgroup is frozen: paused whatever the recorded status says,
// and a command joining its cgroups would be frozen too) or ErrStale (start
// ticks not recorded, or different from the live process's: the PID now
// belongs to another process).
//
// The answer is only as good as the moment it was computed: a caller that
// then acts on the PID must hold a pidfd and check again (see proc.PidfdOpen).
func (s *ContainerState) CheckRunning() error {
	_, err := s.checkRunning(false)
	return err
}

// CheckRunningCgroups is CheckRunning for a caller about to join the
// target's cgroups (an attach): it also returns them, every line of
// /proc/PID/cgroup resolved to a directory as proc.Cgroups does. The file is
// read and its mounts resolved once, so that the cgroups checked for a
// freeze are the cgroups the caller then joins, at half the cost of asking
// twice. The container controls its processes' cgroups, so a caller must
// call this once per attach, never reuse an earlier answer.
func (s *ContainerState) CheckRunningCgroups() ([]proc.CgroupDir, error) {
	return s.checkRunning(true)
}

// checkRunning is CheckRunning; with all it resolves every cgroup line and
// returns them, else only those the freezer check needs.
func (s *ContainerState) checkRunning(all bool) ([]proc.CgroupDir, error) {
	switch s.Status {
	case StatusStopped:
		return nil, fmt.Errorf("state: container %q (pid %d): status %s: %w", s.ID, s.PID, StatusStopped, ErrNotRunning)
	case StatusPaused:
		return nil, fmt.Errorf("state: container %q (pid %d) is paused: resume it first (runc exec refuses a paused container too): %w", s.ID, s.PID, ErrNotRunning)
	}
	if s.PID <= 0 {
		return nil, fmt.Errorf("state: container %q: invalid pid %d: %w", s.ID, s.PID, ErrNotRunning)
	}
	st, err := proc.ReadStat(s.PID)
	if err != nil {
		return nil, fmt.Errorf("state: container %q (pid %d): %w: %w", s.ID, s.PID, ErrNotRunning, err)
	}
	if st.State == 'Z' || st.State == 'X' {
		return nil, fmt.Errorf("state: container %q (pid %d): process has exited (zombie): %w", s.ID, s.PID, ErrNotRunning)
	}
	if s.StartTicks == 0 {
		return nil, fmt.Errorf("state: container %q (pid %d): start ticks not recorded: %w", s.ID, s.PID, ErrStale)
	}
	if st.StartTicks != s.StartTicks {
		return nil, fmt.Errorf("state: container %q (pid %d): start ticks %d, recorded %d: %w", s.ID, s.PID, st.StartTicks, s.StartTicks, ErrStale)
	}
	keep := freezerLines
	if all {
		keep = nil
	}
	dirs, err := proc.CgroupsWhere(s.PID, keep)
	if err != nil && all {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			// It exited after the stat above.
			return nil, fmt.Errorf("state: container %q (pid %d): cgroups: %w: %w", s.ID, s.PID, ErrNotRunning, err)
		}
		return nil, fmt.Errorf("state: container %q (pid %d): cgroups: %w", s.ID, s.PID, err)
	}
	// Without all, cgroups that cannot be read are no evidence of a
	// freeze (see frozen); dirs is then empty.
	if frozen(dirs) {
		return nil, fmt.Errorf("state: container %q (pid %d) is paused (its cgroup is frozen): resume it first (runc exec refuses a paused container too): %w", s.ID, s.PID, ErrNotRunning)
	}
	return dirs, nil
}
