package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"nucleus/state"
	"nucleus/state/engine/internal/hook"
)

// defaultContainerdState is containerd's default state directory.
const defaultContainerdState = "/run/containerd"

// containerdRootSource lists the containers of a runtime root that
// containerd's shims give their OCI runtime: one runtime root per
// containerd namespace below it (/run/containerd/runc/<namespace>/<id>,
// runsc's likewise). It names them namespace/id, as containerd does, from
// the directories that root's shims make (the roots are checked as
// checkRoot checks any runtime root), without containerd's gRPC API; the
// bundle each task has in containerd's state directory is recorded, so
// that a Kubernetes container can be named from its annotations (kube.go).
type containerdRootSource struct {
	root  RuntimeRoot
	state string // containerd's state directory
}

func (s *containerdRootSource) name() string {
	return fmt.Sprintf("containerd's %s (%s)", s.root.Runtime, s.root.Dir)
}

func (s *containerdRootSource) list(ctx context.Context) ([]Container, error) {
	ents, err := readRoot(s.root.Dir)
	if err != nil {
		return nil, hook.Annotate(s.name(), err)
	}
	var out []Container
	for _, e := range ents {
		ns := e.Name()
		// containerd's namespace names are plain labels; anything else
		// is not one of its directories.
		if !e.IsDir() || state.ValidateID(ns) != nil || strings.HasPrefix(ns, ".") {
			continue
		}
		nsRoot := RuntimeRoot{Runtime: s.root.Runtime, Dir: filepath.Join(s.root.Dir, ns)}
		list, err := (&runtimeSource{root: nsRoot}).list(ctx)
		if errors.Is(err, errAbsent) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: namespace %s: %w", s.name(), ns, err)
		}
		for _, ct := range list {
			full := ns + "/" + ct.ID
			ct.Name, ct.aliases = full, append(ct.aliases, full)
			ct.bundle = filepath.Join(s.state, "io.containerd.runtime.v2.task", ns, ct.ID)
			out = append(out, ct)
		}
	}
	return out, nil
}
