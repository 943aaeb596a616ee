package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"nucleus/state/engine/internal/hook"
)

// dockerSource lists the containers of a Docker daemon through its Engine
// API (GET /containers/json, /containers/{id}/json).
type dockerSource struct {
	host     string // DOCKER_HOST-style address
	execRoot string // dockerd --exec-root
}

func (s *dockerSource) name() string { return fmt.Sprintf("docker (%s)", s.host) }

// dockerSummary is an element of GET /containers/json.
type dockerSummary struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	State  string            `json:"State"`
	Labels map[string]string `json:"Labels"`
}

// dockerInspect is the part of GET /containers/{id}/json used here.
type dockerInspect struct {
	ID    string `json:"Id"`
	Name  string `json:"Name"`
	State struct {
		Status string `json:"Status"`
		Pid    int    `json:"Pid"`
	} `json:"State"`
	HostConfig struct {
		Runtime string `json:"Runtime"`
	} `json:"HostConfig"`
}

// list asks for every container; the PID and runtime of a running one are
// asked for when needed (inspect).
func (s *dockerSource) list(ctx context.Context) ([]Container, error) {
	c, err := newRESTClient(s.host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	if err := c.present(); err != nil {
		return nil, err
	}
	var sums []dockerSummary
	if err := c.get(ctx, "/containers/json?all=1", &sums); err != nil {
		return nil, hook.Annotate(s.name(), err)
	}
	var out []Container
	for _, sum := range sums {
		ct := Container{Engine: Docker, ID: sum.ID, Status: sum.State, Labels: sum.Labels, aliases: []string{sum.ID}}
		for _, n := range sum.Names {
			n = strings.TrimPrefix(n, "/")
			if ct.Name == "" {
				ct.Name = n
			}
			ct.aliases = append(ct.aliases, n)
		}
		if sum.State == "running" || sum.State == "paused" {
			ct.details = []func(context.Context, *Container) error{s.inspect}
		}
		out = append(out, ct)
	}
	return out, nil
}

// inspect asks for one container's PID and runtime. Docker keeps each
// runtime's state in <exec-root>/runtime-<runtime>/moby (moby is its
// containerd namespace), or in runtime-runc/moby for any runtime.
func (s *dockerSource) inspect(ctx context.Context, ct *Container) error {
	c, err := newRESTClient(s.host)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name(), err)
	}
	var in dockerInspect
	if !validID(ct.ID) {
		return fmt.Errorf("%s: container ID %q: not hexadecimal", s.name(), ct.ID)
	}
	if err := c.get(ctx, "/containers/"+ct.ID+"/json", &in); err != nil {
		return fmt.Errorf("%s: inspect %s: %w", s.name(), ct.ID, err)
	}
	if in.ID != ct.ID {
		return fmt.Errorf("%s: inspect %s answered for %s", s.name(), ct.ID, in.ID)
	}
	ct.PID, ct.Status = in.State.Pid, in.State.Status
	rt := in.HostConfig.Runtime
	if rt == "" {
		rt = "runc"
	}
	if bin, ok := hook.RuntimeOf(rt); ok {
		ct.addRoot(bin, filepath.Join(s.execRoot, "runtime-"+rt, "moby"))
		// Docker 20.10 runs every runtime through containerd's runc shim,
		// whose root is runtime-runc whatever the binary.
		ct.addRoot(bin, filepath.Join(s.execRoot, "runtime-runc", "moby"))
	}
	return nil
}

// validID accepts a Docker container ID as the API lists it (64 lowercase
// hexadecimal digits; any length here): the ID is put in a request path
// unescaped, so it must hold nothing that could end or redirect it.
func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !('0' <= id[i] && id[i] <= '9' || 'a' <= id[i] && id[i] <= 'f') {
			return false
		}
	}
	return true
}
