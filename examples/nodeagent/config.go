package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"nucleus/probe"
	"nucleus/probe/grpcprobe"
)

// maxConfig bounds the configuration file.
const maxConfig = 4 << 20

// Config is the agent's declared settings: what to probe and how.
type Config struct {
	// Defaults apply to every check whose own fields are zero (kubelet's
	// defaults where these are zero too).
	Defaults Settings `json:"defaults"`
	// Concurrency bounds the probes running at once (default 16).
	Concurrency int `json:"concurrency"`
	// Targets is the static list of containers.
	Targets []TargetConfig `json:"targets"`
	// Discovery, when set, adds the running containers of the node's
	// engines that declare probes (see ProbeKeyPrefix).
	Discovery *DiscoveryConfig `json:"discovery,omitempty"`
}

// TargetConfig is one container and its checks. Exactly one of PID,
// StateFile and OCIStateFile names the container.
type TargetConfig struct {
	Name string `json:"name"`
	// PID is a process of the container (state.FromPID).
	PID int `json:"pid,omitempty"`
	// StateFile is a nucleus state file (state.LoadFile).
	StateFile string `json:"stateFile,omitempty"`
	// OCIStateFile holds the OCI runtime state JSON a runtime printed
	// (`runc state ID`, `runsc state ID`; state.FromOCI).
	OCIStateFile string `json:"ociStateFile,omitempty"`
	// Labels become metrics labels (pod, namespace, container, pod_uid).
	Labels map[string]string `json:"labels,omitempty"`
	// Liveness, Readiness and Startup are the checks; at least Liveness
	// or Readiness.
	Liveness  *CheckConfig `json:"liveness,omitempty"`
	Readiness *CheckConfig `json:"readiness,omitempty"`
	Startup   *CheckConfig `json:"startup,omitempty"`
}

// CheckConfig is one probe, kubelet style: exactly one of Exec, TCP, HTTP
// and GRPC, and its settings.
type CheckConfig struct {
	Exec *struct {
		Command []string `json:"command"`
	} `json:"exec,omitempty"`
	TCP *struct {
		Port int    `json:"port"`
		Host string `json:"host,omitempty"`
	} `json:"tcp,omitempty"`
	HTTP *struct {
		Port   int    `json:"port"`
		Host   string `json:"host,omitempty"`
		Path   string `json:"path,omitempty"`
		Scheme string `json:"scheme,omitempty"`
	} `json:"http,omitempty"`
	GRPC *struct {
		Port    int    `json:"port"`
		Host    string `json:"host,omitempty"`
		Service string `json:"service,omitempty"`
	} `json:"grpc,omitempty"`
	Settings
}

// Settings are kubelet's per-probe fields.
type Settings struct {
	Interval         Duration `json:"interval,omitempty"`
	Timeout          Duration `json:"timeout,omitempty"`
	InitialDelay     Duration `json:"initialDelay,omitempty"`
	FailureThreshold int      `json:"failureThreshold,omitempty"`
	SuccessThreshold int      `json:"successThreshold,omitempty"`
}

func (s Settings) probe() probe.Settings {
	return probe.Settings{Interval: time.Duration(s.Interval), Timeout: time.Duration(s.Timeout),
		InitialDelay: time.Duration(s.InitialDelay), FailureThreshold: s.FailureThreshold, SuccessThreshold: s.SuccessThreshold}
}

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

// UnmarshalJSON reads "10s", "500ms", ...
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// loadConfig reads and checks the configuration file at path.
func loadConfig(path string) (*Config, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(b) > maxConfig {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxConfig)
	}
	cfg, err := parseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// openRegular opens path for reading if it is a regular file. The open does
// not block (O_NONBLOCK), so a FIFO planted in its place cannot hang the
// agent.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return f, nil
}

func parseConfig(b []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Discovery != nil {
		if _, _, err := cfg.Discovery.options(); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for i, t := range cfg.Targets {
		where := fmt.Sprintf("target %d (%q)", i, t.Name)
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("%s: no name", where)
		case seen[t.Name]:
			return nil, fmt.Errorf("%s: duplicate name", where)
		case count(t.PID != 0, t.StateFile != "", t.OCIStateFile != "") != 1:
			return nil, fmt.Errorf("%s: give exactly one of pid, stateFile, ociStateFile", where)
		case t.Liveness == nil && t.Readiness == nil:
			return nil, fmt.Errorf("%s: no liveness or readiness check", where)
		}
		seen[t.Name] = true
		for name, c := range map[string]*CheckConfig{"liveness": t.Liveness, "readiness": t.Readiness, "startup": t.Startup} {
			if c == nil {
				continue
			}
			if _, err := c.build(); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", where, name, err)
			}
		}
	}
	return &cfg, nil
}

// build returns the probe c describes.
func (c *CheckConfig) build() (probe.Probe, error) {
	if count(c.Exec != nil, c.TCP != nil, c.HTTP != nil, c.GRPC != nil) != 1 {
		return nil, errors.New("give exactly one of exec, tcp, http, grpc")
	}
	switch {
	case c.Exec != nil:
		if len(c.Exec.Command) == 0 {
			return nil, errors.New("exec: empty command")
		}
		return probe.Exec{Command: c.Exec.Command}, nil
	case c.TCP != nil:
		return probe.TCP{Port: c.TCP.Port, Host: c.TCP.Host}, checkPort(c.TCP.Port)
	case c.HTTP != nil:
		if s := strings.ToLower(c.HTTP.Scheme); s != "" && s != "http" && s != "https" {
			return nil, fmt.Errorf("http: scheme %q: want http or https", c.HTTP.Scheme)
		}
		return probe.HTTP{Port: c.HTTP.Port, Host: c.HTTP.Host, Path: c.HTTP.Path, Scheme: c.HTTP.Scheme}, checkPort(c.HTTP.Port)
	}
	return grpcprobe.Probe(grpcprobe.Config{Port: c.GRPC.Port, Host: c.GRPC.Host, Service: c.GRPC.Service}), checkPort(c.GRPC.Port)
}

func checkPort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("port %d: want 1 to 65535", p)
	}
	return nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
