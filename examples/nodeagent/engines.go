package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"nucleus/probe"
	"nucleus/probe/metrics"
	"nucleus/state"
	"nucleus/state/engine"
	// Labels and pod annotations come from the engines' APIs: link the
	// gRPC sources (engine alone names containers without them).
	_ "nucleus/state/engine/containerd"
	_ "nucleus/state/engine/cri"
)

// ProbeKeyPrefix starts every probe declaration. On a Kubernetes pod
// (read through CRI) the key is an annotation,
// probe.nucleus.dev/<container>.<check>; on a Docker, Podman or containerd
// container it is a container label, probe.nucleus.dev/<check>. <check> is
// liveness, readiness or startup; the value is one check of the
// configuration file's form, for example
//
//	{"exec":{"command":["cat","/tmp/healthy"]},"interval":"5s","failureThreshold":3}
//
// Annotations and labels are read from the engine's API, which only its
// root-owned socket's clients (kubelet from the API server, docker run
// --label) write: nothing the container runs can declare or change its
// own probes.
const ProbeKeyPrefix = "probe.nucleus.dev/"

// checkKinds are the <check> words of a declaration.
var checkKinds = []string{"liveness", "readiness", "startup"}

// DiscoveryConfig turns on discovery through the container engines.
type DiscoveryConfig struct {
	// Engines are the engines asked: cri, docker, podman, containerd
	// (default all four; an absent one is skipped).
	Engines []string `json:"engines,omitempty"`
	// CRISocket, ContainerdSocket, DockerHost, DockerExecRoot and
	// PodmanSocket replace the engines' defaults (see nucleus/state/engine's
	// options of those names).
	CRISocket        string `json:"criSocket,omitempty"`
	ContainerdSocket string `json:"containerdSocket,omitempty"`
	DockerHost       string `json:"dockerHost,omitempty"`
	DockerExecRoot   string `json:"dockerExecRoot,omitempty"`
	PodmanSocket     string `json:"podmanSocket,omitempty"`
	// MinInterval is the shortest interval a declaration may ask for
	// (default 1s, kubelet's smallest periodSeconds): whoever may create a
	// pod writes its annotations, and one asking for a probe every
	// millisecond would hold the agent's probe slots (Concurrency) and
	// starve every other target. Shorter ones are refused.
	MinInterval Duration `json:"minInterval,omitempty"`
}

// defaultMinInterval is MinInterval's default.
const defaultMinInterval = time.Second

// discoveryEngines are the engines that keep labels or annotations, in
// nucleus/state/engine's attribution order: a container two of them list
// (a Docker container is also a containerd one) is the first one's.
var discoveryEngines = []engine.Engine{engine.Docker, engine.Podman, engine.CRI, engine.Containerd}

// options returns the engines d names, in the attribution order, and the
// options of their addresses.
func (d *DiscoveryConfig) options() ([]engine.Engine, []engine.Option, error) {
	engines := discoveryEngines
	if len(d.Engines) > 0 {
		for _, e := range d.Engines {
			if !slices.Contains(discoveryEngines, engine.Engine(e)) {
				return nil, nil, fmt.Errorf("discovery: engine %q: want cri, docker, podman or containerd", e)
			}
		}
		engines = slices.DeleteFunc(slices.Clone(discoveryEngines), func(e engine.Engine) bool {
			return !slices.Contains(d.Engines, string(e))
		})
	}
	var opts []engine.Option
	if d.CRISocket != "" {
		opts = append(opts, engine.WithCRISocket(d.CRISocket))
	}
	if d.ContainerdSocket != "" {
		opts = append(opts, engine.WithContainerdSocket(d.ContainerdSocket))
	}
	if d.DockerHost != "" {
		opts = append(opts, engine.WithDockerHost(d.DockerHost))
	}
	if d.DockerExecRoot != "" {
		opts = append(opts, engine.WithDockerExecRoot(d.DockerExecRoot))
	}
	if d.PodmanSocket != "" {
		opts = append(opts, engine.WithPodmanSocket(d.PodmanSocket))
	}
	return engines, opts, nil
}

// engines is the Discoverer of the containers the engines list that
// declare probes. A container keeps the state it was resolved to while
// the engine reports it with the same id and PID, so that a resync runs
// no runtime `state` for it again. Each engine is listed on its own: while
// one fails (restarting), the targets found in it before are kept rather
// than dropped with their probing state and metrics (a container that died
// meanwhile is reported by its probes: its target is gone), and the
// others' changes still apply.
type engines struct {
	engines     []engine.Engine // in the attribution order
	opts        []engine.Option
	minInterval time.Duration       // the shortest declared interval accepted
	known       map[string]resolved // by container id
}

type resolved struct {
	engine engine.Engine
	pid    int
	st     *state.ContainerState
	target probe.Target // the last one made of it
}

// Discover lists the engines and returns a target for every running
// container with declarations. A container whose declarations are wrong or
// whose state cannot be read is left out and named in the error, as is an
// engine that failed; the others are still returned.
func (e *engines) Discover(ctx context.Context) ([]probe.Target, error) {
	var errs []error
	known := map[string]resolved{}
	listed := map[string]bool{} // ids seen, probed or not
	var out []probe.Target
	for _, en := range e.engines {
		list, err := engine.List(ctx, append(slices.Clone(e.opts), engine.WithEngines(en))...)
		if err != nil {
			errs = append(errs, fmt.Errorf("engine %s: %w", en, err))
			for id, r := range e.known {
				if r.engine == en && !slices.ContainsFunc(list, func(c engine.Container) bool { return c.ID == id }) {
					known[id], listed[id] = r, true
					out = append(out, r.target)
				}
			}
		}
		for _, c := range list {
			if listed[c.ID] {
				continue // an earlier engine's
			}
			listed[c.ID] = true
			t, r, err := e.target(ctx, c)
			if err != nil {
				errs = append(errs, err)
			}
			if t == nil {
				continue
			}
			known[c.ID] = r
			out = append(out, *t)
		}
	}
	e.known = known
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errors.Join(errs...)
}

// target is the probe target of a listed container: nil when it does not
// run or declares no probes, or on error.
func (e *engines) target(ctx context.Context, c engine.Container) (*probe.Target, resolved, error) {
	if c.Status != "running" || c.PID == 0 {
		return nil, resolved{}, nil
	}
	where := fmt.Sprintf("%s container %s", c.Engine, c.Name)
	checks, err := declarations(c, e.minInterval)
	if err != nil || checks == nil {
		if err != nil {
			err = fmt.Errorf("%s: %w", where, err)
		}
		return nil, resolved{}, err
	}
	r, ok := e.known[c.ID]
	if !ok || r.pid != c.PID || r.engine != c.Engine {
		st, err := c.State(ctx)
		if err != nil {
			return nil, resolved{}, err
		}
		r = resolved{engine: c.Engine, pid: c.PID, st: st}
	}
	t, err := checks.target(targetName(c), r.st)
	if err != nil {
		return nil, resolved{}, fmt.Errorf("%s: %w", where, err)
	}
	t.Labels = metricLabels(c)
	r.target = t
	return &t, r, nil
}

// targetName is a discovered target's name: engine:name, for example
// cri:shop/web-0/app or docker:web. A static target's name has no such
// prefix unless the file gives one.
func targetName(c engine.Container) string { return string(c.Engine) + ":" + c.Name }

// metricLabels are kubelet's labels for a pod's container, the engine's
// name for the others.
func metricLabels(c engine.Container) map[string]string {
	if c.Pod != nil {
		return map[string]string{metrics.LabelContainer: c.Pod.Container, metrics.LabelPod: c.Pod.Name,
			metrics.LabelNamespace: c.Pod.Namespace, metrics.LabelPodUID: c.Pod.UID}
	}
	return map[string]string{metrics.LabelContainer: c.Name}
}

// declarations reads c's probe declarations: its pod's annotations for a
// CRI container, its labels otherwise; a check may not ask for an interval
// shorter than minInterval. nil when it declares none.
func declarations(c engine.Container, minInterval time.Duration) (*TargetConfig, error) {
	keys, prefix := c.Labels, ProbeKeyPrefix
	if c.Pod != nil {
		keys, prefix = c.Pod.Annotations, ProbeKeyPrefix+c.Pod.Container+"."
	}
	var tc TargetConfig
	found := false
	for _, kind := range checkKinds {
		v, ok := keys[prefix+kind]
		if !ok {
			continue
		}
		found = true
		cc, err := parseCheck(v)
		if err == nil && cc.Interval != 0 && time.Duration(cc.Interval) < minInterval {
			err = fmt.Errorf("interval %v: shorter than the agent's minInterval %v", time.Duration(cc.Interval), minInterval)
		}
		if err != nil {
			return nil, fmt.Errorf("%s%s: %w", prefix, kind, err)
		}
		switch kind {
		case "liveness":
			tc.Liveness = cc
		case "readiness":
			tc.Readiness = cc
		default:
			tc.Startup = cc
		}
	}
	if !found {
		// A key of the prefix this agent does not know is a typo the
		// owner wants to hear of, not a container without probes.
		for k := range keys {
			if rest, ok := strings.CutPrefix(k, prefix); ok && (c.Pod != nil || !strings.Contains(rest, ".")) {
				return nil, fmt.Errorf("%s: unknown check %q: want liveness, readiness or startup", k, rest)
			}
		}
		return nil, nil
	}
	if tc.Liveness == nil && tc.Readiness == nil {
		return nil, fmt.Errorf("%sstartup without %sliveness or %sreadiness", prefix, prefix, prefix)
	}
	return &tc, nil
}

// parseCheck reads one declared check, strictly (an unknown field is an
// error), and builds its probe once so that a wrong one is reported here.
func parseCheck(v string) (*CheckConfig, error) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var cc CheckConfig
	if err := dec.Decode(&cc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("text after the check's JSON object")
	}
	if _, err := cc.build(); err != nil {
		return nil, err
	}
	return &cc, nil
}
