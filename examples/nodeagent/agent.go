package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"nucleus/probe"
	"nucleus/probe/metrics"
)

// agent probes what its Discoverer finds with one Monitor at a time and
// serves /metrics, /healthz and /status.
type agent struct {
	disc   Discoverer
	cfg    *Config
	log    *slog.Logger
	col    *metrics.Collector
	reg    *prometheus.Registry
	resync time.Duration

	mu       sync.Mutex
	monitor  *probe.Monitor
	names    []string // the targets being probed, sorted
	running  bool
	discErr  error
	lastSync time.Time
}

func agentMain(args []string) int {
	f := flag.NewFlagSet("nodeagent", flag.ContinueOnError)
	f.SetOutput(io.Discard)
	config := f.String("config", "", "")
	listen := f.String("listen", "127.0.0.1:9355", "")
	resync := f.Duration("resync", 30*time.Second, "")
	if err := f.Parse(args); err != nil || *config == "" || f.NArg() != 0 {
		fmt.Fprint(os.Stderr, usage)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := loadConfig(*config)
	if err != nil {
		log.Error("nodeagent: " + err.Error())
		return 2
	}
	disc := multi{static{cfg}}
	if cfg.Discovery != nil {
		list, opts, _ := cfg.Discovery.options() // parseConfig checked them
		minInterval := time.Duration(cfg.Discovery.MinInterval)
		if minInterval == 0 {
			minInterval = defaultMinInterval
		}
		disc = append(disc, &engines{engines: list, opts: opts, minInterval: minInterval})
	}
	a := &agent{disc: disc, cfg: cfg, log: log, col: metrics.New(), reg: prometheus.NewRegistry(), resync: *resync}
	a.reg.MustRegister(a.col)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("nodeagent: listen: " + err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: a.mux(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("serving", "addr", ln.Addr().String(), "targets", len(cfg.Targets))
	a.run(ctx)
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	log.Info("stopped")
	return 0
}

const usage = `usage: nodeagent --config FILE [--listen 127.0.0.1:9355] [--resync 30s]

Probes the containers the configuration file lists (by pid, nucleus state
file or OCI state file) and, when its "discovery" section is set, the
running containers of the node's engines that declare probes (pod
annotations probe.nucleus.dev/CONTAINER.liveness|readiness|startup through
CRI; container labels probe.nucleus.dev/liveness|... on Docker, Podman,
containerd), with the checks declared, from inside their namespaces, and
serves /metrics (kubelet's prober metrics), /healthz (the agent's own
health) and /status (every target's health, JSON).
`

// run probes with one Monitor until ctx ends, discovering every resync
// period: a new target is added, a vanished one removed (and its metrics
// forgotten), a restarted one (new PID or start time) replaced with fresh
// counters; the others keep their state.
func (a *agent) run(ctx context.Context) {
	m := probe.NewMonitor(probe.MonitorConfig{
		Interval: time.Duration(a.cfg.Defaults.Interval), Timeout: time.Duration(a.cfg.Defaults.Timeout),
		StartPeriod: time.Duration(a.cfg.Defaults.InitialDelay), FailureThreshold: a.cfg.Defaults.FailureThreshold,
		SuccessThreshold: a.cfg.Defaults.SuccessThreshold, Concurrency: a.cfg.Concurrency,
		OnResult: a.col.Observe, Logger: a.log,
		OnTransition: func(tr probe.Transition) {
			a.log.Info("transition", "target", tr.Target, "type", string(tr.Type), "from", tr.From.String(), "to", tr.To.String(), "reason", tr.Result.Reason)
		},
	})
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Run(mctx); err != nil {
			a.log.Error("monitor", "err", err)
		}
	}()
	defer func() { cancel(); <-done }()
	a.mu.Lock()
	a.monitor, a.running = m, true
	a.mu.Unlock()

	tick := time.NewTicker(a.resync)
	defer tick.Stop()
	have := map[string]string{}              // name → container key
	labels := map[string]map[string]string{} // name → its metrics labels
	for {
		targets, err := a.disc.Discover(ctx)
		if err != nil {
			a.log.Warn("discovery", "err", err)
		}
		seen := map[string]bool{}
		for _, t := range targets {
			seen[t.Name] = true
			key := fmt.Sprintf("%d/%d", t.State.PID, t.State.StartTicks)
			if old, ok := have[t.Name]; ok && old == key {
				continue
			} else if ok {
				m.Remove(t.Name)
			}
			if err := m.Add(t); err != nil {
				a.log.Error("add target", "target", t.Name, "err", err)
				continue
			}
			have[t.Name], labels[t.Name] = key, t.Labels
		}
		for name := range have {
			if !seen[name] {
				m.Remove(name)
				gone := labels[name]
				delete(have, name)
				delete(labels, name)
				if !sharedSeries(name, gone, labels) {
					a.col.Forget(name, gone)
				}
			}
		}
		names := make([]string, 0, len(have))
		for name := range have {
			names = append(names, name)
		}
		sort.Strings(names)
		a.mu.Lock()
		a.names, a.discErr, a.lastSync = names, err, time.Now()
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sharedSeries says whether a target still probed has the series of the
// gone target name with labels: static targets without pod labels whose
// container label is the same share theirs, and the live one's counters
// must not be reset. Another pod's container of the same name has series
// of its own, which Collector.Forget leaves alone.
func sharedSeries(name string, labels map[string]string, live map[string]map[string]string) bool {
	id := metrics.SeriesOf(name, labels)
	for n, l := range live {
		if metrics.SeriesOf(n, l) == id {
			return true
		}
	}
	return false
}

// targetStatus is one target in /status.
type targetStatus struct {
	Name      string            `json:"name"`
	Health    string            `json:"health"`
	Started   bool              `json:"started"`
	Ready     bool              `json:"ready"`
	Checks    map[string]string `json:"checks"`
	LastError string            `json:"lastError,omitempty"`
	Last      []historyEntry    `json:"last"`
}

type historyEntry struct {
	Type     string    `json:"type"`
	Start    time.Time `json:"start"`
	Status   string    `json:"status"`
	ExitCode int       `json:"exitCode"`
	Reason   string    `json:"reason,omitempty"`
	Output   string    `json:"output,omitempty"`
}

func (a *agent) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		a.mu.Lock()
		ok, age := a.running, time.Since(a.lastSync)
		a.mu.Unlock()
		// Healthy while a Monitor runs and discovery is not stuck.
		if !ok || age > 3*a.resync {
			http.Error(w, "not probing", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		a.mu.Lock()
		m, names, derr := a.monitor, a.names, a.discErr
		a.mu.Unlock()
		out := struct {
			Targets        []targetStatus `json:"targets"`
			DiscoveryError string         `json:"discoveryError,omitempty"`
			ProbeErrors    uint64         `json:"probeErrors"`
		}{Targets: []targetStatus{}}
		if derr != nil {
			out.DiscoveryError = derr.Error()
		}
		if m != nil {
			out.ProbeErrors = m.ProbeErrors()
			for _, name := range names {
				s, ok := m.Status(name)
				if !ok {
					continue
				}
				ts := targetStatus{Name: s.Name, Health: s.Health.String(), Started: s.Started, Ready: s.Ready, Checks: map[string]string{}}
				for typ, c := range s.Checks {
					ts.Checks[string(typ)] = c.Health.String()
					if c.LastError != "" {
						ts.LastError = c.LastError
					}
				}
				for _, e := range s.History {
					ts.Last = append(ts.Last, historyEntry{Type: string(e.Type), Start: e.Start, Status: e.Status.String(),
						ExitCode: e.ExitCode, Reason: e.Reason, Output: string(e.Output)})
				}
				out.Targets = append(out.Targets, ts)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return mux
}
