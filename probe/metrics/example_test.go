package metrics_test

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"nucleus/probe"
	"nucleus/probe/metrics"
	"nucleus/state"
)

// Serve kubelet-compatible prober metrics of a Monitor on /metrics.
func Example() {
	st, err := state.FromPID(4242) // a container's process
	if err != nil {
		return
	}
	col := metrics.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	m := probe.NewMonitor(probe.MonitorConfig{Interval: 10 * time.Second, OnResult: col.Observe},
		probe.Target{Name: "web", State: st, Probe: probe.HTTP{Port: 8080, Path: "/healthz"},
			Labels: map[string]string{metrics.LabelPod: "web-0", metrics.LabelNamespace: "default"}})
	go m.Run(context.Background())
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	_ = http.ListenAndServe("127.0.0.1:9090", nil)
}
