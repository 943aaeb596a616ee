package engine

import (
	"context"
	"fmt"

	"nucleus/state/engine/internal/hook"
)

// linkedSource is containerd's or the CRI's gRPC API, through the lister
// that nucleus/state/engine/containerd or nucleus/state/engine/cri
// registered when the program imported it.
type linkedSource struct {
	engine Engine
	socket string
	lister hook.Lister
}

func (s *linkedSource) name() string { return fmt.Sprintf("%s (%s)", s.engine, s.socket) }

func (s *linkedSource) list(ctx context.Context) ([]Container, error) {
	hs, err := s.lister(ctx, s.socket)
	if err != nil {
		return nil, err
	}
	out := make([]Container, 0, len(hs))
	for _, h := range hs {
		ct := Container{Engine: s.engine, Name: h.Name, ID: h.ID, PID: h.PID, Status: h.Status,
			Labels: h.Labels, aliases: h.Aliases}
		if h.Pod != nil {
			p := Pod(*h.Pod)
			ct.Pod = &p
		}
		for _, r := range h.Roots {
			ct.addRoot(r.Runtime, r.Dir)
		}
		if detail := h.Detail; detail != nil {
			ct.details = []func(context.Context, *Container) error{func(ctx context.Context, c *Container) error {
				d, err := detail(ctx)
				if err != nil {
					return err
				}
				c.PID = d.PID
				for _, r := range d.Roots {
					c.addRoot(r.Runtime, r.Dir)
				}
				return nil
			}}
		}
		out = append(out, ct)
	}
	return out, nil
}

// notLinked is the error for an engine named explicitly whose package the
// program does not import.
func notLinked(e Engine, pkg string) error {
	return fmt.Errorf("engine: %s: its gRPC source is not linked into this program: import _ %q (engine alone finds %s's running containers from their runtime roots and bundles, under engine %q)", e, pkg, e, Runtime)
}
