package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
)

// ociState is the state of a container as an OCI runtime reports it
// (runtime-spec, "State"): what `runc state`, `crun state` and `runsc state`
// print. Runtimes add fields of their own (rootfs, created, owner,
// systemd-scope...), which are ignored.
type ociState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	PID         *int              `json:"pid"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations"`
}

// FromOCI describes a container from its OCI runtime state: the JSON that
// `runc state ID`, `crun state ID` and `runsc state ID` print (ociVersion,
// id, status, pid, bundle, annotations; other fields are ignored), read from
// r up to 4 MiB.
//
// ID and Name are the OCI id, BundlePath the bundle, Annotations the
// annotations. The status maps to the Status of the same name: creating,
// created, running, stopped, and paused (StatusPaused, which CheckRunning
// and so attach refuse, as `runc exec` refuses a paused container). A
// stopped container is returned as it is, without reading any process
// (CheckRunning reports ErrNotRunning).
//
// For any other status the pid is read at once, as FromPID reads it: the
// start ticks are recorded then, so that a later reuse of the PID by another
// process is detected (ErrStale), and the process identity inside its user
// namespace, Rootless, CreatorUID, Command and StartedAt come from the live
// process. A process that is gone already yields ErrNotRunning: the runtime
// state was out of date. (A "created" runc container's pid is `runc init`,
// waiting to exec the container's process; its identity is the runtime's,
// usually root.) A "creating" state may have no pid yet; it is returned
// without reading a process and CheckRunning reports ErrNotRunning.
//
// When the pid is a gVisor sandbox supervisor (`runsc-sandbox ... boot ...`,
// what `runsc state` reports), UsingGVisor is set and RuntimeRoot records
// the runsc --root for a later `runsc exec`; see ContainerState.RuntimeRoot.
// The sandbox's namespaces are never joined.
//
// Errors start with "state: from oci:"; malformed JSON, a missing id or
// status, an unknown status or a missing or negative pid for a status that
// needs one are errors.
func FromOCI(r io.Reader) (*ContainerState, error) {
	if r == nil {
		return nil, errors.New("state: from oci: nil reader")
	}
	b, err := io.ReadAll(io.LimitReader(r, maxStateFile+1))
	if err != nil {
		return nil, fmt.Errorf("state: from oci: read: %w", err)
	}
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("state: from oci: larger than %d bytes", maxStateFile)
	}
	o, status, err := parseOCI(b)
	if err != nil {
		return nil, fmt.Errorf("state: from oci: %w", err)
	}
	s := &ContainerState{
		ID:         o.ID,
		Name:       o.ID,
		Status:     status,
		BundlePath: o.Bundle,
	}
	if o.PID != nil {
		s.PID = *o.PID
	}
	if len(o.Annotations) > 0 {
		s.Annotations = maps.Clone(o.Annotations)
	}
	if status == StatusStopped || (status == StatusCreating && s.PID == 0) {
		return s, nil
	}
	live, err := inspect(s.PID, fmt.Sprintf("from oci: container %q: pid %d", o.ID, s.PID), o.Bundle)
	if err != nil {
		return nil, err
	}
	s.PID = live.PID
	s.StartTicks = live.StartTicks
	s.StartedAt = live.StartedAt
	s.Command = live.Command
	s.Rootless = live.Rootless
	s.CreatorUID = live.CreatorUID
	s.ProcessUID = live.ProcessUID
	s.ProcessGID = live.ProcessGID
	s.AdditionalGIDs = live.AdditionalGIDs
	s.UsingGVisor = live.UsingGVisor
	s.RuntimeRoot = live.RuntimeRoot
	return s, nil
}

// parseOCI decodes and checks an OCI state and maps its status.
func parseOCI(b []byte) (*ociState, Status, error) {
	var o ociState
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, "", fmt.Errorf("invalid JSON: %w", err)
	}
	if o.ID == "" {
		return nil, "", errors.New("no id")
	}
	if strings.IndexByte(o.ID, 0) >= 0 {
		return nil, "", fmt.Errorf("id %q contains NUL", o.ID)
	}
	var status Status
	switch o.Status {
	case "creating":
		status = StatusCreating
	case "created":
		status = StatusCreated
	case "running":
		status = StatusRunning
	case "stopped":
		status = StatusStopped
	case "paused":
		status = StatusPaused
	case "":
		return nil, "", fmt.Errorf("container %q: no status", o.ID)
	default:
		return nil, "", fmt.Errorf("container %q: unknown status %q", o.ID, o.Status)
	}
	switch {
	case o.PID != nil && *o.PID < 0:
		return nil, "", fmt.Errorf("container %q: invalid pid %d", o.ID, *o.PID)
	case status == StatusStopped || status == StatusCreating:
	case o.PID == nil || *o.PID == 0:
		return nil, "", fmt.Errorf("container %q: status %s without a pid", o.ID, status)
	}
	return &o, status, nil
}
