package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// commandCgroup is the name of an attached command's own cgroup below the
// container's v2 cgroup (internal/launch's cmdCgroup).
var commandCgroup = regexp.MustCompile(`^nucleus-\d+-\d+$`)

// CheckCommandCgroups compares the /proc/PID/cgroup of an attached command
// (got) with the container's (want): every v1 line must be the same, and the
// v2 line ("0::") a cgroup of the command's own directly below the
// container's. It returns what differs, nil when nothing does.
func CheckCommandCgroups(want, got string) error {
	w, g := strings.Split(strings.TrimSpace(want), "\n"), strings.Split(strings.TrimSpace(got), "\n")
	if len(w) != len(g) {
		return fmt.Errorf("%d cgroup lines, the container has %d:\n%s\nwant:\n%s", len(g), len(w), got, want)
	}
	for i := range w {
		if !strings.HasPrefix(w[i], "0::") {
			if w[i] != g[i] {
				return fmt.Errorf("line %q, the container's is %q", g[i], w[i])
			}
			continue
		}
		parent, base := filepath.Split(strings.TrimPrefix(g[i], "0::"))
		if !strings.HasPrefix(g[i], "0::") || filepath.Clean(parent) != strings.TrimPrefix(w[i], "0::") || !commandCgroup.MatchString(base) {
			return fmt.Errorf("v2 line %q is not a nucleus-<pid>-<n> child of the container's %q", g[i], w[i])
		}
	}
	return nil
}

// CommandCgroupDirs lists the cgroups of commands this process attached
// (nucleus-<our pid>-<n>) left in the v2 cgroup directory dir: after every
// command and its descendants have ended there must be none. Other
// processes' are not listed: tests of other packages may be attaching to
// containers in the same cgroup meanwhile.
func CommandCgroupDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	ours := "nucleus-" + strconv.Itoa(os.Getpid()) + "-"
	var left []string
	for _, e := range ents {
		if e.IsDir() && commandCgroup.MatchString(e.Name()) && strings.HasPrefix(e.Name(), ours) {
			left = append(left, filepath.Join(dir, e.Name()))
		}
	}
	return left, nil
}
