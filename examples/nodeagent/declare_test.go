package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/probe"
	"nucleus/state/engine"
)

// The declarations' rules: a pod's annotations for its own container's
// name only, a container's labels without a container part, and every
// mistake named by its key.
func TestDeclarations(t *testing.T) {
	pod := func(ann map[string]string) engine.Container {
		return engine.Container{Engine: engine.CRI, Name: "ns/p/app", Pod: &engine.Pod{Container: "app", Annotations: ann},
			Labels: map[string]string{ProbeKeyPrefix + "liveness": `{"tcp":{"port":1}}`}}
	}
	labelled := func(l map[string]string) engine.Container {
		return engine.Container{Engine: engine.Docker, Name: "web", Labels: l}
	}
	const tcp = `{"tcp":{"port":80},"interval":"5s"}`
	for _, tc := range []struct {
		name   string
		c      engine.Container
		checks []string // liveness, readiness, startup present
		err    string
	}{
		{"pod", pod(map[string]string{ProbeKeyPrefix + "app.liveness": tcp, ProbeKeyPrefix + "app.startup": tcp}), []string{"liveness", "startup"}, ""},
		// A pod's container labels are kubelet's, not declarations.
		{"pod labels ignored", pod(nil), nil, ""},
		{"other container", pod(map[string]string{ProbeKeyPrefix + "db.liveness": tcp}), nil, ""},
		{"pod typo", pod(map[string]string{ProbeKeyPrefix + "app.livenes": tcp}), nil, `probe.nucleus.dev/app.livenes: unknown check "livenes"`},
		{"startup alone", pod(map[string]string{ProbeKeyPrefix + "app.startup": tcp}), nil, "probe.nucleus.dev/app.startup without"},
		{"labels", labelled(map[string]string{ProbeKeyPrefix + "readiness": tcp}), []string{"readiness"}, ""},
		{"none", labelled(map[string]string{"maintainer": "x"}), nil, ""},
		{"unknown field", labelled(map[string]string{ProbeKeyPrefix + "liveness": `{"tcp":{"port":80},"period":"5s"}`}), nil, `probe.nucleus.dev/liveness: json: unknown field "period"`},
		{"two objects", labelled(map[string]string{ProbeKeyPrefix + "liveness": tcp + tcp}), nil, "text after"},
		{"two probes", labelled(map[string]string{ProbeKeyPrefix + "liveness": `{"tcp":{"port":80},"exec":{"command":["true"]}}`}), nil, "exactly one of"},
		{"bad port", labelled(map[string]string{ProbeKeyPrefix + "liveness": `{"http":{"port":70000}}`}), nil, "port 70000"},
		{"too often", labelled(map[string]string{ProbeKeyPrefix + "liveness": `{"tcp":{"port":80},"interval":"1ms"}`}), nil, "probe.nucleus.dev/liveness: interval 1ms: shorter than the agent's minInterval 1s"},
		{"not json", labelled(map[string]string{ProbeKeyPrefix + "liveness": `cat /tmp/healthy`}), nil, "probe.nucleus.dev/liveness: invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := declarations(tc.c, time.Second)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if tc.checks == nil {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			var have []string
			for name, c := range map[string]*CheckConfig{"liveness": got.Liveness, "readiness": got.Readiness, "startup": got.Startup} {
				if c != nil {
					have = append(have, name)
				}
			}
			assert.ElementsMatch(t, tc.checks, have)
			tg, err := got.target("x", nil)
			require.NoError(t, err)
			for _, c := range []*probe.Check{tg.Readiness, tg.Startup} {
				if c != nil {
					assert.Equal(t, probe.TCP{Port: 80}, c.Probe)
					assert.Equal(t, 5*time.Second, c.Settings.Interval)
				}
			}
		})
	}
}
