package testcontainer

import (
	"errors"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
)

// CommandCgroups lists the cgroups of attached commands (nucleus-<pid>-<n>)
// still present below the container's v2 cgroup: none may be left once the
// commands and everything they started have ended.
func (c *Container) CommandCgroups() ([]string, error) {
	cgs, err := proc.Cgroups(c.PID)
	if err != nil {
		return nil, err
	}
	for _, cg := range cgs {
		if cg.Hierarchy == 0 && cg.Controllers == "" {
			return testutil.CommandCgroupDirs(cg.Dir)
		}
	}
	return nil, errors.New("testcontainer: no cgroup v2 mounted")
}
