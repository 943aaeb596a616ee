package state

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"

	"nucleus/internal/proc"
)

// frozen reports whether a process whose cgroups are dirs is in a frozen
// or freezing cgroup: `runc pause`, `docker pause` and `crun pause` freeze
// a container with the cgroup freezer, whatever its recorded status says.
//
// A command that joins a frozen container's cgroups is frozen with it. With
// the cgroup v1 freezer even SIGKILL waits for the thaw, so neither a
// timeout nor a cancelled context could get the caller back: a frozen
// target must be refused before anything starts.
//
// v1: freezer.state of the process's freezer cgroup is not THAWED (it
// reports FROZEN or FREEZING also when an ancestor is frozen). v2:
// cgroup.freeze of its cgroup is 1 (frozen or being frozen), or cgroup.events
// says "frozen 1" (also set when an ancestor is frozen). Hierarchies the
// caller cannot resolve or read are not evidence of anything: only a
// positive answer counts.
//
// dirs are the process's cgroups (proc.CgroupsWhere), all of them or only
// those freezerLines keeps: the others are passed over.
func frozen(dirs []proc.CgroupDir) bool {
	for _, d := range dirs {
		if d.Hierarchy == 0 && d.Controllers == "" {
			if b, err := proc.ReadFile(filepath.Join(d.Dir, "cgroup.freeze")); err == nil && bytes.Equal(bytes.TrimSpace(b), []byte("1")) {
				return true
			}
			if b, err := proc.ReadFile(filepath.Join(d.Dir, "cgroup.events")); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if strings.TrimSpace(line) == "frozen 1" {
						return true
					}
				}
			}
			continue
		}
		for _, c := range strings.Split(d.Controllers, ",") {
			if c != "freezer" {
				continue
			}
			b, err := proc.ReadFile(filepath.Join(d.Dir, "freezer.state"))
			if err == nil && len(bytes.TrimSpace(b)) > 0 && !bytes.Equal(bytes.TrimSpace(b), []byte("THAWED")) {
				return true
			}
		}
	}
	return false
}

// freezerLines keeps the cgroup lines frozen looks at: v2, and the v1
// hierarchy of the freezer controller.
func freezerLines(hierarchy int, controllers string) bool {
	return hierarchy == 0 || slices.Contains(strings.Split(controllers, ","), "freezer")
}
