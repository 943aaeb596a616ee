package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"nucleus/state/engine/internal/hook"
)

// runtimeSource lists the containers of one OCI runtime state root.
type runtimeSource struct{ root RuntimeRoot }

func (s *runtimeSource) name() string { return fmt.Sprintf("%s (%s)", s.root.Runtime, s.root.Dir) }

// list reads the root's directory: runc and crun keep one directory per
// container id; runsc one "<sandbox>_sandbox:<id>.state" file per container.
func (s *runtimeSource) list(ctx context.Context) ([]Container, error) {
	ents, err := readRoot(s.root.Dir)
	if err != nil {
		return nil, hook.Annotate(s.name(), err)
	}
	var out []Container
	for _, e := range ents {
		id := ""
		switch {
		case s.root.Runtime == "runsc":
			n, ok := strings.CutSuffix(e.Name(), ".state")
			if !ok {
				continue
			}
			if _, after, ok := strings.Cut(n, "_sandbox:"); ok {
				id = after
			}
		case e.IsDir():
			id = e.Name()
		}
		if id == "" {
			continue
		}
		ct := Container{Engine: Runtime, Name: id, ID: id, aliases: []string{id}}
		ct.addRoot(s.root.Runtime, s.root.Dir)
		out = append(out, ct)
	}
	return out, nil
}

// readRoot lists a runtime root once checkRoot accepts it; errAbsent
// when it does not exist.
func readRoot(dir string) ([]os.DirEntry, error) {
	if err := checkRoot(dir); err != nil {
		if errors.Is(err, errAbsent) {
			return nil, errAbsent
		}
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errAbsent
	}
	return ents, err
}

// fill completes, for List, the PID and status of a container whose
// engine did not report them, from its runtime's state.
func (c *Container) fill(ctx context.Context) {
	if c.PID != 0 || len(c.roots) == 0 {
		return
	}
	st, err := runtimeState(ctx, c.roots[0], c.ID)
	if err != nil {
		if c.Status == "" {
			c.Status = "unknown"
		}
		return
	}
	c.PID, c.stateBundle = st.PID, st.BundlePath
	if c.Status == "" {
		c.Status = string(st.Status)
	}
}
