package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"nucleus/state/engine/internal/hook"
)

// podmanSource lists Podman's containers: through its libpod API when
// `podman system service` listens on the socket, else from its container
// store (containers/storage's containers.json, which holds ids and names),
// the PID and status then coming from the runtime's state. Podman runs
// runc without --root, so runc's default root holds its containers' state.
type podmanSource struct {
	socket      string
	storage     string // graph root (podman --root)
	runtimeRoot string // runc's --root for podman's containers
	crunRoot    string // crun's, Podman's other usual runtime ("" for none)
}

func (s *podmanSource) name() string {
	return fmt.Sprintf("podman (%s, else %s)", s.socket, s.storage)
}

// podmanSummary is an element of GET /libpod/containers/json.
type podmanSummary struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	Pid    int               `json:"Pid"`
	State  string            `json:"State"`
	Labels map[string]string `json:"Labels"`
}

// storeContainer is an element of containers/storage's containers.json.
type storeContainer struct {
	ID    string   `json:"id"`
	Names []string `json:"names"`
}

// maxStoreFile bounds containers.json.
const maxStoreFile = 64 << 20

func (s *podmanSource) list(ctx context.Context) ([]Container, error) {
	list, err := s.fromAPI(ctx)
	if !errors.Is(err, errAbsent) {
		return list, err
	}
	return s.fromStore()
}

// fromAPI asks the libpod API (the version prefix is the oldest Podman 4
// answers; Podman 4 and 5 serve it).
func (s *podmanSource) fromAPI(ctx context.Context) ([]Container, error) {
	c, err := newRESTClient(s.socket)
	if err != nil {
		return nil, fmt.Errorf("podman: %w", err)
	}
	if err := c.present(); err != nil {
		return nil, err
	}
	var sums []podmanSummary
	if err := c.get(ctx, "/v4.0.0/libpod/containers/json?all=true", &sums); err != nil {
		return nil, hook.Annotate("podman ("+s.socket+")", err)
	}
	out := make([]Container, 0, len(sums))
	for _, sum := range sums {
		ct := s.container(sum.ID, sum.Names)
		ct.PID, ct.Status, ct.Labels = sum.Pid, sum.State, sum.Labels
		out = append(out, ct)
	}
	return out, nil
}

// fromStore reads the names from the container store; the store holds
// every container podman made (running or not), and the runtime's state
// says which run.
func (s *podmanSource) fromStore() ([]Container, error) {
	if !filepath.IsAbs(s.storage) {
		return nil, errAbsent // no home directory, so no store
	}
	path := filepath.Join(s.storage, "overlay-containers", "containers.json")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errAbsent
	}
	if err != nil {
		return nil, fmt.Errorf("podman store: %w", err)
	}
	defer f.Close()
	// The store maps names to ids: one that others could write could
	// make a name point at another container.
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("podman store: %s is not a regular file", path)
	}
	if uid := ownerUID(fi); (uid != 0 && uid != uint32(euid())) || fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("podman store: %s: owned by uid %d with mode %v: neither root's nor the caller's alone", path, uid, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStoreFile+1))
	if err != nil || len(b) > maxStoreFile {
		return nil, fmt.Errorf("podman store: read %s: %v (limit %d bytes)", path, err, maxStoreFile)
	}
	var cs []storeContainer
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("podman store: %s: %w", path, err)
	}
	out := make([]Container, 0, len(cs))
	for _, sc := range cs {
		out = append(out, s.container(sc.ID, sc.Names))
	}
	return out, nil
}

func (s *podmanSource) container(id string, names []string) Container {
	ct := Container{Engine: Podman, ID: id, aliases: append([]string{id}, names...)}
	ct.addRoot("runc", s.runtimeRoot)
	if s.crunRoot != "" {
		ct.addRoot("crun", s.crunRoot)
	}
	if len(names) > 0 {
		ct.Name = names[0]
	}
	return ct
}
