package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"nucleus/state"
	"nucleus/state/engine/internal/hook"
)

// Engine names a source of containers.
type Engine string

// The engines and runtimes Find and List search, in the order a container
// seen by several of them is attributed: Docker and Podman run their
// containers through containerd or an OCI runtime, CRI through containerd,
// so the most specific name wins.
const (
	// Docker is the Docker Engine API (DOCKER_HOST, else /var/run/docker.sock).
	Docker Engine = "docker"
	// Podman is Podman's API socket, else its container store.
	Podman Engine = "podman"
	// CRI is the Kubernetes Container Runtime Interface (containerd's or
	// CRI-O's socket); the program must import nucleus/state/engine/cri.
	CRI Engine = "cri"
	// Containerd is containerd's gRPC API, every namespace; the program
	// must import nucleus/state/engine/containerd (see the package doc).
	Containerd Engine = "containerd"
	// Runtime is the state roots of runc, crun and runsc, containerd's
	// shims' roots among them (its containers named namespace/id, or
	// namespace/pod/container from their bundles' annotations).
	Runtime Engine = "runtime"
	// Nucleus is nucleus's own state directories.
	Nucleus Engine = "nucleus"
)

// allEngines is the attribution order (see the constants).
var allEngines = []Engine{Docker, Podman, CRI, Containerd, Runtime, Nucleus}

// Container is one container as an engine lists it.
type Container struct {
	// Engine is the engine that named it (see the attribution order).
	Engine Engine
	// Name is the engine's name for it: Docker's and Podman's container
	// name, namespace/pod/container for CRI, namespace/id for containerd,
	// the id for a runtime root or a nucleus state file; in containerd's
	// runtime roots namespace/id, or namespace/pod/container for a
	// Kubernetes container (from its bundle's annotations).
	Name string
	// ID is the container's id (the OCI runtime's id as well).
	ID string
	// PID is the container's init as the engine reports it (0 when the
	// engine does not say, for example a stopped container).
	PID int
	// Status is the engine's word for its state (running, exited, ...).
	Status string
	// Runtime is the OCI runtime (runc, crun, runsc) whose state root
	// RuntimeRoot holds the container's state, when known.
	Runtime     string
	RuntimeRoot string
	// Labels are the labels the engine keeps for the container: Docker's
	// and Podman's Config.Labels, containerd's container labels, CRI's
	// container labels (kubelet's io.kubernetes.* keys). Whoever created
	// the container through the engine's root-owned API set them; the
	// container's processes cannot change them, so they may declare how the
	// container is to be treated (a node agent's probes). nil when the
	// engine does not say (Podman's store read without its API, runtime
	// roots, nucleus state files).
	Labels map[string]string
	// Pod is the Kubernetes pod of a CRI container; nil for the others.
	Pod *Pod

	aliases   []string      // every name the container answers to
	roots     []RuntimeRoot // where its OCI state may be, in order
	stateFile string        // a nucleus state file
	// bundle is the OCI bundle containerd keeps for the task, stateBundle
	// the one its runtime's state reported (List), kubeBundle the one whose
	// annotations gave it its Kubernetes name (kube.go).
	bundle, stateBundle, kubeBundle string
	kubeRead                        bool // its bundle's annotations were read
	// details ask the engines for what a listing does not give (PID,
	// runtime root): one request per container, made only for the
	// container Find returns or when List shows every PID.
	details []func(ctx context.Context, c *Container) error
}

// Pod is a container's pod sandbox as CRI reports it.
type Pod struct {
	// Namespace, Name and UID are the pod's Kubernetes metadata.
	Namespace, Name, UID string
	// ID is the pod sandbox's id.
	ID string
	// Container is the container's name in the pod.
	Container string
	// Annotations are the sandbox's annotations: kubelet passes the pod's
	// metadata.annotations, which only the API server's clients (not the
	// pod's processes) can set.
	Annotations map[string]string
}

// source is one engine or runtime being searched.
type source interface {
	// name says what is searched, for errors: "docker (unix:///var/run/docker.sock)".
	name() string
	// list returns the containers the source sees. An absent socket or
	// directory is errAbsent.
	list(ctx context.Context) ([]Container, error)
}

// errAbsent marks a socket or directory that does not exist: the engine
// is not installed or not running, which is not an error of the search.
var errAbsent = hook.ErrAbsent

// List returns every container the configured engines see (see Find for
// what is searched). A container that several engines see (a Docker
// container is also a containerd task) is listed once, under the first
// engine of the order of the Engine constants. Engines that are absent are
// skipped; the error joins the failures of engines that are present.
func List(ctx context.Context, opts ...Option) ([]Container, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	all, _, errs := cfg.gather(ctx)
	for i := range all {
		if err := all[i].detail(ctx); err != nil {
			errs = append(errs, err)
		}
		all[i].fill(ctx)
	}
	errs = append(errs, kubeAliases(ctx, all, true)...)
	return all, errors.Join(errs...)
}

// Find looks a container up by name, ID or unique ID prefix across the
// configured engines and returns its state, as state.FromOCI gives it, read
// from the runtime root the engine uses (a nucleus state file is loaded as
// it is). An exact name or ID wins over a prefix; two containers that match
// yield an *AmbiguousError listing them, none a *NotFoundError naming the
// engines searched and the sockets that were absent.
//
// The PID that the runtime state reports must equal the PID the engine
// reports for that container, and its start ticks are recorded at once, so
// that the result names that process and no other.
func Find(ctx context.Context, name string, opts ...Option) (*state.ContainerState, error) {
	if name == "" {
		return nil, errors.New("engine: find: empty container name")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	all, searched, errs := cfg.gather(ctx)
	c, err := match(name, all)
	var nf *NotFoundError
	if errors.As(err, &nf) && isKubeName(name) {
		// No engine's API named it: a Kubernetes container of a runtime
		// root is named by its bundle's annotations, those of containerd's
		// tasks first (files), then those the runtime's state points to
		// (an exec of the runtime per container: CRI-O's).
		for _, askRuntime := range []bool{false, true} {
			errs = append(errs, kubeAliases(ctx, all, askRuntime)...)
			if c, err = match(name, all); !errors.As(err, &nf) {
				break
			}
		}
	}
	if err != nil {
		if errors.As(err, &nf) {
			nf.Searched, nf.Absent, nf.Errors = searched, cfg.absent, errs
		}
		return nil, err
	}
	if err := c.detail(ctx); err != nil {
		return nil, err
	}
	return resolve(ctx, c)
}

// State reads the state of a container List returned, as Find does for
// the container it matches: from its runtime's root, checked against the
// PID the engine reported, start ticks recorded. A caller that lists once
// and resolves each container avoids one listing of every engine per
// container.
func (c Container) State(ctx context.Context) (*state.ContainerState, error) {
	if err := c.detail(ctx); err != nil {
		return nil, err
	}
	return resolve(ctx, c)
}

// gather lists every source, all at once (each is an independent socket
// or directory), and merges containers seen by several in the order of the
// sources.
func (c *config) gather(ctx context.Context) (all []Container, searched []string, errs []error) {
	type answer struct {
		list []Container
		err  error
	}
	answers := make([]answer, len(c.sources))
	var wg sync.WaitGroup
	for i, src := range c.sources {
		wg.Go(func() {
			answers[i].list, answers[i].err = listBounded(ctx, src)
		})
	}
	wg.Wait()
	byID := map[string]int{}
	for i, src := range c.sources {
		list, err := answers[i].list, answers[i].err
		if errors.Is(err, errAbsent) {
			c.absent = append(c.absent, src.name())
			continue
		}
		searched = append(searched, src.name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ct := range list {
			i, seen := byID[ct.ID]
			if !seen {
				byID[ct.ID] = len(all)
				all = append(all, ct)
				continue
			}
			all[i].merge(ct)
		}
	}
	return all, searched, errs
}

// merge completes c with what another engine knows of the same container.
func (c *Container) merge(o Container) {
	for _, a := range o.aliases {
		if !slices.Contains(c.aliases, a) {
			c.aliases = append(c.aliases, a)
		}
	}
	if c.PID == 0 {
		c.PID = o.PID
	}
	if c.Status == "" {
		c.Status = o.Status
	}
	if c.Labels == nil {
		c.Labels = o.Labels
	}
	if c.Pod == nil {
		c.Pod = o.Pod
	}
	for _, r := range o.roots {
		c.addRoot(r.Runtime, r.Dir)
	}
	if c.stateFile == "" {
		c.stateFile = o.stateFile
	}
	if c.bundle == "" {
		c.bundle = o.bundle
	}
	c.details = append(c.details, o.details...)
}

// detail runs the engines' detail requests once.
func (c *Container) detail(ctx context.Context) error {
	for _, d := range c.details {
		if err := d(ctx, c); err != nil {
			return err
		}
	}
	c.details = nil
	return nil
}

// match picks the one container name designates: an exact alias (name or
// ID) first, else a unique ID prefix.
func match(name string, all []Container) (Container, error) {
	var exact, prefix []Container
	for _, c := range all {
		switch {
		case slices.Contains(c.aliases, name) || c.ID == name:
			exact = append(exact, c)
		case strings.HasPrefix(c.ID, name):
			prefix = append(prefix, c)
		}
	}
	found := exact
	if len(found) == 0 {
		found = prefix
	}
	switch len(found) {
	case 0:
		return Container{}, &NotFoundError{Name: name}
	case 1:
		return found[0], nil
	}
	return Container{}, &AmbiguousError{Name: name, Candidates: found}
}

// euid is the caller's effective uid; a variable for the refusal tests.
var euid = os.Geteuid

// refuseRoot is the error for an unprivileged caller naming a root-only engine.
func refuseRoot(what string) error {
	return fmt.Errorf("engine: %s: refused for uid %d: it is root's (its socket gives control of every container on the host): %w", what, euid(), state.ErrPermission)
}

// addRoot records a runtime root where the container's state may be; the
// first one is shown as Runtime and RuntimeRoot.
func (c *Container) addRoot(runtime, dir string) {
	r := RuntimeRoot{Runtime: runtime, Dir: dir}
	if runtime == "" || dir == "" || slices.Contains(c.roots, r) {
		return
	}
	c.roots = append(c.roots, r)
	if c.RuntimeRoot == "" {
		c.Runtime, c.RuntimeRoot = runtime, dir
	}
}

// sourceTimeout bounds one engine's answer when the caller's context has
// no deadline: an engine that hangs must not hang the lookup.
const sourceTimeout = 10 * time.Second

func listBounded(ctx context.Context, src source) ([]Container, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sourceTimeout)
		defer cancel()
	}
	return src.list(ctx)
}
