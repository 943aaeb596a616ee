package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// bin is the nodeagent binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithBinary(m, "nodeagent", &bin))
}

type status struct {
	Targets        []statusTarget `json:"targets"`
	DiscoveryError string         `json:"discoveryError"`
}

type statusTarget struct {
	Name    string            `json:"name"`
	Health  string            `json:"health"`
	Started bool              `json:"started"`
	Ready   bool              `json:"ready"`
	Checks  map[string]string `json:"checks"`
	Last    []struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"last"`
}

// readStatus is the agent's /status now (empty when it does not answer).
func readStatus(t *testing.T, base string) status {
	var s status
	_, body := get(t, base+"/status")
	_ = json.Unmarshal([]byte(body), &s)
	return s
}

// health is the health of the target named name, "absent" if none.
func (s status) health(name string) string {
	for _, tg := range s.Targets {
		if tg.Name == name {
			return tg.Health
		}
	}
	return "absent"
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startAgent runs the agent on cfg and returns its base URL once it
// serves.
func startAgent(t *testing.T, cfg string) (*exec.Cmd, string, *testutil.SyncBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targets.json")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o644))
	cmd := exec.Command(bin, "--config", path, "--listen", "127.0.0.1:0", "--resync", "200ms")
	pr, pw := io.Pipe()
	var log testutil.SyncBuffer
	cmd.Stderr = io.MultiWriter(&log, pw)
	testutil.StartChild(t, cmd)
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving addr=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() { pw.Close() })
	select {
	case a := <-addr:
		return cmd, "http://" + a, &log
	case <-time.After(30 * time.Second):
		t.Fatalf("agent did not start; stderr: %s", log.String())
	}
	return nil, "", nil
}

// stopAgent sends SIGTERM and checks that the agent exits 0 and logged no
// error.
func stopAgent(t *testing.T, cmd *exec.Cmd, log *testutil.SyncBuffer) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "exit status after SIGTERM; log %s", log)
	case <-time.After(20 * time.Second):
		t.Fatal("agent did not stop on SIGTERM")
	}
	assert.NotContains(t, log.String(), "level=ERROR")
}

// The agent as a process against real containers: a testcontainer by pid
// with startup, liveness and readiness checks, another one that dies, and
// a runc container named by its OCI state (what `runc state` printed).
func TestNodeAgent(t *testing.T) {
	web := testcontainer.New(t, testcontainer.Options{Port: 8080, Hostname: "web"})
	doomed := testcontainer.New(t, testcontainer.Options{Port: 8080, Hostname: "doomed"})
	rc := testcontainer.StartRunc(t, testcontainer.RuncOptions{Args: []string{"httpd", "-f", "-p", "127.0.0.1:8081"}})
	ociState, err := rc.State()
	require.NoError(t, err)
	ociPath := filepath.Join(t.TempDir(), "runc-state.json")
	require.NoError(t, os.WriteFile(ociPath, ociState, 0o644))

	cfg := fmt.Sprintf(`{
  "defaults": {"interval": "50ms", "timeout": "2s", "failureThreshold": 2},
  "concurrency": 4,
  "targets": [
    {"name": "web", "pid": %d, "labels": {"pod": "web-0", "namespace": "shop", "container": "app"},
     "startup": {"exec": {"command": ["true"]}},
     "liveness": {"http": {"port": 8080, "path": "healthz"}},
     "readiness": {"tcp": {"port": 8080}, "interval": "20ms"}},
    {"name": "doomed", "pid": %d, "liveness": {"tcp": {"port": 8080}}},
    {"name": "runc", "ociStateFile": %q, "liveness": {"exec": {"command": ["sh", "-c", "exit 3"]}}}
  ]
}`, web.PID, doomed.PID, ociPath)
	cmd, base, log := startAgent(t, cfg)

	var st status
	read := func() status { return readStatus(t, base) }
	health := func(s status, name string) string { return s.health(name) }
	require.Eventually(t, func() bool {
		st = read()
		return health(st, "web") == "healthy" && health(st, "doomed") == "healthy" && health(st, "runc") == "unhealthy"
	}, 20*time.Second, 50*time.Millisecond, "status %+v; log %s", st, log)
	for _, tg := range st.Targets {
		if tg.Name == "web" {
			assert.True(t, tg.Started)
			assert.True(t, tg.Ready)
			assert.Equal(t, map[string]string{"startup": "healthy", "liveness": "healthy", "readiness": "healthy"}, tg.Checks)
		}
		if tg.Name == "runc" {
			require.NotEmpty(t, tg.Last)
			assert.Equal(t, "exit status 3", tg.Last[len(tg.Last)-1].Reason)
		}
	}
	code, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)

	code, body = get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `prober_probe_total{container="app",namespace="shop",pod="web-0",pod_uid="",probe_type="Startup",result="successful"}`)
	assert.Contains(t, body, `prober_probe_total{container="app",namespace="shop",pod="web-0",pod_uid="",probe_type="Readiness",result="successful"}`)
	assert.Contains(t, body, `prober_probe_total{container="runc",namespace="",pod="",pod_uid="",probe_type="Liveness",result="failed"}`)

	// A container dies: it is reported, then dropped at the next resync
	// (its PID is gone), while the others go on, their state untouched.
	require.NoError(t, doomed.Close())
	require.Eventually(t, func() bool {
		st = read()
		return health(st, "doomed") != "healthy" && strings.Contains(st.DiscoveryError, `target "doomed"`)
	}, 20*time.Second, 50*time.Millisecond, "status %+v", st)
	assert.Equal(t, "healthy", health(st, "web"))

	stopAgent(t, cmd, log)
}

// A configuration the agent cannot use: exit 2 and a message naming it.
func TestNodeAgentBadConfig(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]string{
		"no checks":     `{"targets":[{"name":"a","pid":1}]}`,
		"two ways":      `{"targets":[{"name":"a","pid":1,"stateFile":"/x","liveness":{"tcp":{"port":1}}}]}`,
		"two probes":    `{"targets":[{"name":"a","pid":1,"liveness":{"tcp":{"port":1},"exec":{"command":["true"]}}}]}`,
		"bad port":      `{"targets":[{"name":"a","pid":1,"liveness":{"tcp":{"port":0}}}]}`,
		"unknown field": `{"targets":[{"name":"a","pid":1,"livenes":{}}]}`,
		"bad duration":  `{"defaults":{"interval":"soon"},"targets":[]}`,
		"bad engine":    `{"discovery":{"engines":["lxc"]},"targets":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
			require.NoError(t, os.WriteFile(path, []byte(cfg), 0o644))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, "--config", path).CombinedOutput()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "%s", out)
			assert.Equal(t, 2, ee.ExitCode(), "%s", out)
			assert.Contains(t, string(out), "config "+path)
		})
	}
	// A FIFO in place of the file is refused, not waited on.
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	out, err := exec.Command(bin, "--config", fifo).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "not a regular file")
}
