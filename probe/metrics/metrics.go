// Package metrics exports a probe.Monitor's results as Prometheus metrics
// with kubelet's names and labels, so that dashboards and alerts written
// for kubelet's prober work unchanged:
//
//	prober_probe_total{probe_type, result, container, pod, namespace, pod_uid}
//	prober_probe_duration_seconds{probe_type, container, pod, namespace}
//
// probe_type is "Liveness", "Readiness" or "Startup"; result is
// "successful", "failed" or "unknown" (a probe that could not run), as
// kubelet writes them. container, pod, namespace and pod_uid come from the
// Target's Labels under those keys; container defaults to the Target's
// Name. The duration histogram observes every probe that ran (Success or
// Failure), not probe errors.
//
// It is opt-in and lives apart from nucleus/probe so that programs that do
// not export metrics do not link the Prometheus client. Wire it with
// MonitorConfig.OnResult:
//
//	c := metrics.New()
//	prometheus.MustRegister(c)
//	m := probe.NewMonitor(probe.MonitorConfig{OnResult: c.Observe}, targets...)
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"nucleus/probe"
)

// The label keys of a Target's Labels this package reads.
const (
	LabelContainer = "container"
	LabelPod       = "pod"
	LabelNamespace = "namespace"
	LabelPodUID    = "pod_uid"
)

// Kubelet's values of the result label.
const (
	ResultSuccessful = "successful"
	ResultFailed     = "failed"
	ResultUnknown    = "unknown"
)

// Collector holds the two prober metrics. It is a prometheus.Collector:
// register it, and pass its Observe to MonitorConfig.OnResult.
type Collector struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns a Collector with no series yet.
func New() *Collector {
	return &Collector{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "prober",
			Name:      "probe_total",
			Help:      "Cumulative number of a liveness, readiness or startup probe for a container by result.",
		}, []string{"probe_type", "result", LabelContainer, LabelPod, LabelNamespace, LabelPodUID}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "prober",
			Name:      "probe_duration_seconds",
			Help:      "Duration in seconds for a probe response.",
			// 1 ms to about 33 s: a TCP probe of a container takes tens
			// of microseconds to a millisecond, a timeout up to its bound.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"probe_type", LabelContainer, LabelPod, LabelNamespace}),
	}
}

// Describe sends the metrics' descriptions (prometheus.Collector).
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.total.Describe(ch)
	c.duration.Describe(ch)
}

// Collect sends the metrics' current values (prometheus.Collector).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.total.Collect(ch)
	c.duration.Collect(ch)
}

// Observe records one probe result; it is a MonitorConfig.OnResult.
func (c *Collector) Observe(ev probe.ResultEvent) {
	typ := probeType(ev.Type)
	id := SeriesOf(ev.Target, ev.Labels)
	c.total.WithLabelValues(typ, result(ev), id.Container, id.Pod, id.Namespace, id.PodUID).Inc()
	if ev.Err == nil && ev.Result.Status != probe.Unknown {
		c.duration.WithLabelValues(typ, id.Container, id.Pod, id.Namespace).Observe(ev.Result.Duration.Seconds())
	}
}

// Forget drops the series of one target that is no longer monitored, as
// kubelet does when a container goes away. name and labels are the
// Target's Name and Labels, read as Observe reads them: the series
// dropped are those with the target's container, pod, namespace and, for
// prober_probe_total, pod_uid labels, so that another pod's container of
// the same name keeps its series. prober_probe_duration_seconds has no
// pod_uid label (kubelet's has none either): a pod recreated under the
// same name, still monitored, has its histogram restarted, which a rate()
// reads as a counter reset.
func (c *Collector) Forget(name string, labels map[string]string) {
	id := SeriesOf(name, labels)
	c.total.DeletePartialMatch(prometheus.Labels{LabelContainer: id.Container, LabelPod: id.Pod, LabelNamespace: id.Namespace, LabelPodUID: id.PodUID})
	c.duration.DeletePartialMatch(prometheus.Labels{LabelContainer: id.Container, LabelPod: id.Pod, LabelNamespace: id.Namespace})
}

// Series is what names a target's series: its container, pod, namespace
// and pod_uid labels. Two targets of one Series share their series, and
// Forget of either drops both's.
type Series struct{ Container, Pod, Namespace, PodUID string }

// SeriesOf is the Series of the target called name with labels (its Name
// and Labels): the labels under the Label* keys, container defaulting to
// name.
func SeriesOf(name string, labels map[string]string) Series {
	container := labels[LabelContainer]
	if container == "" {
		container = name
	}
	return Series{container, labels[LabelPod], labels[LabelNamespace], labels[LabelPodUID]}
}

// result is kubelet's result label: a target that is gone counts as
// failed (as the Monitor counts it), other probe errors as unknown.
func result(ev probe.ResultEvent) string {
	switch {
	case ev.Result.Status == probe.Success:
		return ResultSuccessful
	case ev.Result.Status == probe.Failure:
		return ResultFailed
	case ev.Err != nil && probe.Gone(ev.Err):
		return ResultFailed
	}
	return ResultUnknown
}

// probeType is kubelet's probe_type label.
func probeType(t probe.ProbeType) string {
	switch t {
	case probe.Readiness:
		return "Readiness"
	case probe.Startup:
		return "Startup"
	}
	return "Liveness"
}
