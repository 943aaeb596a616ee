package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"nucleus/state"
	"nucleus/state/engine/internal/hook"
)

// Option changes where Find and List look.
type Option func(*config)

// config is what the options set; nil or empty fields take the defaults.
type config struct {
	engines        []Engine
	dockerHost     *string
	dockerExecRoot string
	podmanSocket   *string
	podmanStorage  *string
	podmanRunRoot  string
	containerdSock *string
	criSockets     []string
	runtimeRoots   []RuntimeRoot
	stateDirs      []string
	explicitRoots  bool
	explicitStates bool
	explicitCRI    bool
	criOption      bool // WithCRISocket given (not only the variable)
	containerdRoot []RuntimeRoot
	containerdRun  string

	sources []source
	absent  []string
}

// RuntimeRoot is the state directory (--root) of one OCI runtime.
type RuntimeRoot struct {
	// Runtime is the runtime's binary: runc, crun or runsc.
	Runtime string
	// Dir is its --root.
	Dir string
}

// WithEngines restricts the search to the engines given.
func WithEngines(e ...Engine) Option {
	return func(c *config) { c.engines = append(c.engines, e...) }
}

// WithDockerHost sets the Docker Engine API address (unix:///path), instead
// of DOCKER_HOST or unix:///var/run/docker.sock. Likewise the other
// engines' variables set their defaults: CONTAINER_HOST (Podman's socket),
// CONTAINERD_ADDRESS (containerd's), CONTAINER_RUNTIME_ENDPOINT (CRI's).
func WithDockerHost(host string) Option { return func(c *config) { c.dockerHost = &host } }

// WithDockerExecRoot sets dockerd's --exec-root (default /run/docker): the
// state of its containers is in <exec-root>/runtime-<runtime>/moby.
func WithDockerExecRoot(dir string) Option { return func(c *config) { c.dockerExecRoot = dir } }

// WithPodmanSocket sets Podman's API socket (default /run/podman/podman.sock,
// $XDG_RUNTIME_DIR/podman/podman.sock for an unprivileged caller).
func WithPodmanSocket(path string) Option { return func(c *config) { c.podmanSocket = &path } }

// WithPodmanStorage sets Podman's container store (its --root, default
// /var/lib/containers/storage, ~/.local/share/containers/storage for an
// unprivileged caller), read for names when its API socket is absent.
func WithPodmanStorage(graphRoot string) Option {
	return func(c *config) { c.podmanStorage = &graphRoot }
}

// WithPodmanRuntimeRoot sets the runtime root Podman gives runc (default
// runc's own, /run/runc, then crun's, /run/crun; under $XDG_RUNTIME_DIR
// for an unprivileged caller).
func WithPodmanRuntimeRoot(dir string) Option { return func(c *config) { c.podmanRunRoot = dir } }

// WithContainerdSocket sets containerd's socket (default
// /run/containerd/containerd.sock).
//
// Both it and WithEngines(Containerd) need the program to import
// nucleus/state/engine/containerd; without it they are an error.
func WithContainerdSocket(path string) Option { return func(c *config) { c.containerdSock = &path } }

// WithContainerdRuntimeRoot adds a runtime root of containerd's shims, one
// directory per containerd namespace below it, searched as engine Runtime
// (containers named namespace/id); given, it replaces the defaults
// (/run/containerd/runc, /run/containerd/runsc).
func WithContainerdRuntimeRoot(runtime, dir string) Option {
	return func(c *config) {
		c.containerdRoot = append(c.containerdRoot, RuntimeRoot{Runtime: runtime, Dir: dir})
	}
}

// WithContainerdState sets containerd's state directory (its `state`
// setting, default /run/containerd): the bundle of task namespace/id,
// whose config.json's annotations name a Kubernetes container, is
// <dir>/io.containerd.runtime.v2.task/<namespace>/<id>.
func WithContainerdState(dir string) Option { return func(c *config) { c.containerdRun = dir } }

// WithCRISocket adds a CRI socket; given, it replaces the defaults
// (containerd's socket, /run/crio/crio.sock).
//
// Both it and WithEngines(CRI) need the program to import
// nucleus/state/engine/cri; without it they are an error.
func WithCRISocket(path string) Option {
	return func(c *config) {
		c.criSockets = append(c.criSockets, path)
		c.explicitCRI, c.criOption = true, true
	}
}

// WithRuntimeRoot adds an OCI runtime state root to search; given, it
// replaces the defaults (/run/runc, /run/crun, /var/run/runsc; for an
// unprivileged caller runc's and crun's under $XDG_RUNTIME_DIR), and
// containerd's shims' roots are searched only as WithContainerdRuntimeRoot
// names them.
func WithRuntimeRoot(runtime, dir string) Option {
	return func(c *config) {
		c.runtimeRoots = append(c.runtimeRoots, RuntimeRoot{Runtime: runtime, Dir: dir})
		c.explicitRoots = true
	}
}

// WithStateDir adds a nucleus state directory; given, it replaces the
// default state.DefaultDir().
func WithStateDir(dir string) Option {
	return func(c *config) { c.stateDirs = append(c.stateDirs, dir); c.explicitStates = true }
}

// newConfig applies the options, refuses what an unprivileged caller may
// not search, and builds the sources.
func newConfig(opts []Option) (*config, error) {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	containerdOption := c.containerdSock != nil // before CONTAINERD_ADDRESS
	for _, e := range c.engines {
		if !slices.Contains(allEngines, e) {
			return nil, fmt.Errorf("engine: unknown engine %q", e)
		}
	}
	rootless := euid() != 0
	xdg := os.Getenv("XDG_RUNTIME_DIR")
	// The variables the engines' own clients honour (docker, podman
	// --remote, ctr, crictl) set the defaults, as if given as options.
	for env, p := range map[string]**string{"CONTAINER_HOST": &c.podmanSocket, "CONTAINERD_ADDRESS": &c.containerdSock} {
		if v := os.Getenv(env); v != "" && *p == nil {
			v = strings.TrimPrefix(v, "unix://")
			*p = &v
		}
	}
	if v := os.Getenv("CONTAINER_RUNTIME_ENDPOINT"); v != "" && !c.explicitCRI {
		c.criSockets, c.explicitCRI = []string{strings.TrimPrefix(v, "unix://")}, true
	}
	if rootless {
		// Root's engines: refused when named, not searched by default.
		if c.dockerHost == nil && os.Getenv("DOCKER_HOST") != "" {
			v := os.Getenv("DOCKER_HOST")
			c.dockerHost = &v
		}
		switch {
		case c.dockerHost != nil && !ownSocket(*c.dockerHost):
			return nil, refuseRoot("docker " + *c.dockerHost)
		case c.containerdSock != nil:
			return nil, refuseRoot("containerd " + *c.containerdSock)
		case c.explicitCRI:
			return nil, refuseRoot("cri " + strings.Join(c.criSockets, ","))
		case c.dockerExecRoot != "":
			return nil, refuseRoot("docker exec root " + c.dockerExecRoot)
		}
		// The caller's own: each path must be the caller's.
		for _, p := range c.ownPaths() {
			if err := ownedByCaller(p); err != nil {
				return nil, err
			}
		}
	}
	want := func(e Engine) bool { return len(c.engines) == 0 || slices.Contains(c.engines, e) }
	named := func(e Engine) bool { return slices.Contains(c.engines, e) }
	// The gRPC sources are in packages of their own (see the package
	// doc): one asked for by an option and not linked is an error, one
	// merely not linked is not searched (the runtime roots stand in).
	if hook.CRI == nil && (named(CRI) || c.criOption) {
		return nil, notLinked(CRI, "nucleus/state/engine/cri")
	}
	if hook.Containerd == nil && (named(Containerd) || (containerdOption && (hook.CRI == nil || !want(CRI)))) {
		return nil, notLinked(Containerd, "nucleus/state/engine/containerd")
	}
	if want(Docker) {
		if rootless && c.dockerHost == nil {
			c.absent = append(c.absent, "docker (root only)")
		} else {
			host := os.Getenv("DOCKER_HOST")
			if c.dockerHost != nil {
				host = *c.dockerHost
			}
			if host == "" {
				host = "unix:///var/run/docker.sock"
			}
			execRoot := c.dockerExecRoot
			switch {
			case execRoot != "":
			case rootless: // rootless dockerd's default
				execRoot = filepath.Join(xdg, "docker")
			default:
				execRoot = "/run/docker"
			}
			c.sources = append(c.sources, &dockerSource{host: host, execRoot: execRoot})
		}
	}
	if want(Podman) {
		sock, store, runRoot, crunRoot := "/run/podman/podman.sock", "/var/lib/containers/storage", "/run/runc", "/run/crun"
		if rootless {
			sock, store = filepath.Join(xdg, "podman/podman.sock"), ""
			if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) {
				store = filepath.Join(home, ".local/share/containers/storage")
			}
			runRoot, crunRoot = filepath.Join(xdg, "runc"), filepath.Join(xdg, "crun")
		}
		if c.podmanSocket != nil {
			sock = *c.podmanSocket
		}
		if c.podmanStorage != nil {
			store = *c.podmanStorage
		}
		if c.podmanRunRoot != "" {
			runRoot, crunRoot = c.podmanRunRoot, ""
		}
		if !rootless || xdg != "" {
			c.sources = append(c.sources, &podmanSource{socket: sock, storage: store, runtimeRoot: runRoot, crunRoot: crunRoot})
		}
	}
	if want(CRI) && hook.CRI != nil {
		socks := c.criSockets
		if len(socks) == 0 {
			socks = []string{"/run/containerd/containerd.sock", "/run/crio/crio.sock"}
			if c.containerdSock != nil {
				socks[0] = *c.containerdSock
			}
		}
		if rootless {
			c.absent = append(c.absent, "cri (root only)")
		} else {
			for _, s := range socks {
				c.sources = append(c.sources, &linkedSource{engine: CRI, socket: s, lister: hook.CRI})
			}
		}
	}
	if want(Containerd) && hook.Containerd != nil {
		if rootless {
			c.absent = append(c.absent, "containerd (root only)")
		} else {
			sock := "/run/containerd/containerd.sock"
			if c.containerdSock != nil {
				sock = *c.containerdSock
			}
			c.sources = append(c.sources, &linkedSource{engine: Containerd, socket: sock, lister: hook.Containerd})
		}
	}
	if want(Runtime) {
		// containerd's shims' roots first: their containers are named
		// namespace/id (and Kubernetes' namespace/pod/container).
		croots := c.containerdRoot
		if len(croots) == 0 && !c.explicitRoots && !rootless {
			croots = []RuntimeRoot{{"runc", "/run/containerd/runc"}, {"runsc", "/run/containerd/runsc"}}
		}
		cstate := c.containerdRun
		if cstate == "" {
			cstate = defaultContainerdState
		}
		for _, r := range croots {
			c.sources = append(c.sources, &containerdRootSource{root: r, state: cstate})
		}
		roots := c.runtimeRoots
		if !c.explicitRoots {
			roots = []RuntimeRoot{{"runc", "/run/runc"}, {"crun", "/run/crun"}, {"runsc", "/var/run/runsc"}}
			if rootless {
				roots = nil
				if xdg != "" {
					roots = []RuntimeRoot{{"runc", filepath.Join(xdg, "runc")}, {"crun", filepath.Join(xdg, "crun")}}
				}
			}
		}
		for _, r := range roots {
			c.sources = append(c.sources, &runtimeSource{root: r})
		}
	}
	if want(Nucleus) {
		dirs := c.stateDirs
		if !c.explicitStates {
			dirs = []string{state.DefaultDir()}
		}
		for _, d := range dirs {
			c.sources = append(c.sources, &nucleusSource{dir: d})
		}
	}
	return c, nil
}

// ownPaths are the paths an unprivileged caller named explicitly.
func (c *config) ownPaths() []string {
	var ps []string
	for _, p := range []*string{c.podmanSocket, c.podmanStorage} {
		if p != nil {
			ps = append(ps, *p)
		}
	}
	if c.podmanRunRoot != "" {
		ps = append(ps, c.podmanRunRoot)
	}
	for _, r := range append(slices.Clone(c.runtimeRoots), c.containerdRoot...) {
		ps = append(ps, r.Dir)
	}
	if c.containerdRun != "" {
		ps = append(ps, c.containerdRun)
	}
	return append(ps, c.stateDirs...)
}

// ownedByCaller refuses a path an unprivileged caller named that is not its
// own: it may look at its own rootless engines only. A path that does not
// exist is left to the source (reported absent).
func ownedByCaller(p string) error {
	fi, err := os.Lstat(p)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: %s: %w", p, err)
	}
	if uid := ownerUID(fi); uid != uint32(euid()) {
		return fmt.Errorf("engine: %s: refused for uid %d: owned by uid %d, and an unprivileged caller may only search its own engines: %w", p, euid(), uid, state.ErrPermission)
	}
	return nil
}

// ownSocket reports whether a unix:// address names an existing socket
// owned by the caller (a rootless dockerd's): the only Docker an
// unprivileged caller may ask.
func ownSocket(addr string) bool {
	p := strings.TrimPrefix(addr, "unix://")
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode()&os.ModeSocket != 0 && ownerUID(fi) == uint32(euid())
}
