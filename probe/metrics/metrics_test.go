package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/probe"
	"nucleus/probe/metrics"
)

// A Monitor of a real container feeds the collector; the scrape shows
// kubelet's metric names, labels and result values.
func TestMetricsFromMonitor(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: 8080})
	st, err := c.State()
	require.NoError(t, err)
	col := metrics.New()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(col))

	pod := map[string]string{metrics.LabelPod: "web-0", metrics.LabelNamespace: "shop", metrics.LabelContainer: "app", metrics.LabelPodUID: "u-1"}
	fast := probe.Settings{Interval: 20 * time.Millisecond, Timeout: 2 * time.Second}
	m := probe.NewMonitor(probe.MonitorConfig{OnResult: col.Observe},
		probe.Target{Name: "web-0/app", State: st, Labels: pod, Probe: probe.TCP{Port: 8080}, Settings: fast,
			Readiness: &probe.Check{Probe: probe.HTTP{Port: 8080, Path: "/status/404"}, Settings: fast}},
		probe.Target{Name: "plain", State: st, Probe: probe.TCP{Port: 8080}, Settings: fast},
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	require.Eventually(t, func() bool { return counter(t, reg, series("Liveness", "successful", "app")) >= 3 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return counter(t, reg, series("Readiness", "failed", "app")) >= 3 }, 10*time.Second, 10*time.Millisecond)
	// The container dies: its probes count as failed.
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return counter(t, reg, series("Liveness", "failed", "app")) >= 1 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	text := string(body)
	assert.Contains(t, text, `prober_probe_total{container="app",namespace="shop",pod="web-0",pod_uid="u-1",probe_type="Liveness",result="successful"}`)
	assert.Contains(t, text, `prober_probe_total{container="app",namespace="shop",pod="web-0",pod_uid="u-1",probe_type="Readiness",result="failed"}`)
	assert.Contains(t, text, `prober_probe_total{container="plain",namespace="",pod="",pod_uid="",probe_type="Liveness",result="successful"}`, "container defaults to the Target's name")
	assert.Contains(t, text, `prober_probe_duration_seconds_bucket{container="app",namespace="shop",pod="web-0",probe_type="Liveness",le=`)
	assert.True(t, strings.Contains(text, "# TYPE prober_probe_duration_seconds histogram"))

	assert.Zero(t, counter(t, reg, map[string]string{"result": "unknown"}), "no probe errors against a running or dead container")

	col.Forget("web-0/app", pod)
	assert.Zero(t, counter(t, reg, map[string]string{"container": "app"}), "series of a forgotten container")
	assert.Positive(t, counter(t, reg, map[string]string{"container": "plain"}))
}

// Forgetting one pod's container drops its series only: another pod's
// container of the same name, and the same pod recreated under a new UID,
// keep their counters (kubelet's series are per container, pod, namespace
// and pod UID).
func TestForgetOneTarget(t *testing.T) {
	col := metrics.New()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(col))
	labels := func(pod, uid string) map[string]string {
		return map[string]string{metrics.LabelContainer: "app", metrics.LabelPod: pod, metrics.LabelNamespace: "shop", metrics.LabelPodUID: uid}
	}
	ok := probe.Result{Status: probe.Success, Duration: time.Millisecond}
	for _, l := range []map[string]string{labels("web-0", "u-1"), labels("web-1", "u-2"), labels("web-0", "u-3")} {
		col.Observe(probe.ResultEvent{Target: l[metrics.LabelPod] + "/app", Type: probe.Liveness, Kind: "tcp", Labels: l, Result: ok})
	}
	col.Forget("web-0/app", labels("web-0", "u-1"))
	assert.Zero(t, counter(t, reg, map[string]string{"pod": "web-0", "pod_uid": "u-1"}), "the forgotten pod's counter")
	assert.Equal(t, 1.0, counter(t, reg, map[string]string{"pod": "web-1"}), "another pod's container called app")
	assert.Equal(t, 1.0, counter(t, reg, map[string]string{"pod": "web-0", "pod_uid": "u-3"}), "the pod recreated under its name")

	col.Forget("plain", nil) // nothing of it: a no-op
	assert.Equal(t, 2.0, counter(t, reg, map[string]string{"container": "app"}))
}

// Probe errors are counted as result="unknown" and not timed.
func TestMetricsUnknown(t *testing.T) {
	col := metrics.New()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(col))
	col.Observe(probe.ResultEvent{Target: "x", Type: probe.Startup, Kind: "exec", Result: probe.Result{Status: probe.Unknown}, Err: probe.ErrPermission})
	col.Observe(probe.ResultEvent{Target: "x", Type: probe.Startup, Kind: "exec", Result: probe.Result{Status: probe.Unknown}, Err: probe.ErrNotRunning})
	assert.Equal(t, 1.0, counter(t, reg, series("Startup", "unknown", "x")))
	assert.Equal(t, 1.0, counter(t, reg, series("Startup", "failed", "x")), "a gone target is a failure")
	n, err := testutil.GatherAndCount(reg, "prober_probe_duration_seconds")
	require.NoError(t, err)
	assert.Zero(t, n)
}

// counter sums the prober_probe_total series of reg whose labels include
// want.
func counter(t *testing.T, reg *prometheus.Registry, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != "prober_probe_total" {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func series(typ, result, container string) map[string]string {
	return map[string]string{"probe_type": typ, "result": result, "container": container}
}
