package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// The agent as a process against a private containerd with CRI: pods
// declare probes in their annotations; the agent finds them through CRI
// (and a static target from its file alongside), probes them from inside
// (exec, HTTP, TCP), reports them in /status and /metrics with kubelet's
// pod labels, names a pod whose declaration is wrong, ignores a pod
// without declarations, and drops a pod that is removed.
func TestNodeAgentCRI(t *testing.T) {
	testcontainer.RequireRoot(t)
	tarball, err := testcontainer.RootfsTar(t.TempDir())
	require.NoError(t, err)
	c := testcontainer.StartContainerd(t, tarball)
	// The pods share the host's network: each web server needs a port.
	webPort, dbPort := testutil.FreePort(t), testutil.FreePort(t)
	image := func(ref string, port int) string {
		c.ImportImage(t, tarball, ref, testcontainer.ImageSpec{Env: testcontainer.DefaultImage.Env,
			Cmd: []string{"httpd", "-f", "-p", fmt.Sprintf("127.0.0.1:%d", port), "-h", "/www"}})
		return ref
	}
	webImage, dbImage := image("nucleus.test/web:1", webPort), image("nucleus.test/db:1", dbPort)
	// The sandbox image only sleeps: the pods without a server of their own.
	idle := c.SandboxImage
	ns := fmt.Sprintf("shop-%d", os.Getpid())
	key := func(container, check string) string { return ProbeKeyPrefix + container + "." + check }
	c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: ns, Pod: "web-0", Container: "app", Image: webImage,
		Annotations: map[string]string{
			key("app", "liveness"):  `{"exec":{"command":["sh","-c","test -d /www"]}}`,
			key("app", "readiness"): fmt.Sprintf(`{"http":{"port":%d,"path":"/"},"interval":"50ms"}`, webPort),
		}})
	db := c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: ns, Pod: "db-0", Container: "db", Image: dbImage,
		Annotations: map[string]string{key("db", "liveness"): fmt.Sprintf(`{"tcp":{"port":%d}}`, dbPort)}})
	// Declarations for another container's name, and none for its own.
	c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: ns, Pod: "plain-0", Container: "plain", Image: idle,
		Annotations: map[string]string{key("other", "liveness"): `{"tcp":{"port":1}}`}})
	c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: ns, Pod: "bad-0", Container: "bad", Image: idle,
		Annotations: map[string]string{key("bad", "liveness"): `{"exec":{"command":[]}}`}})
	static := testcontainer.New(t, testcontainer.Options{Hostname: "static"})

	cfg := fmt.Sprintf(`{
  "defaults": {"interval": "50ms", "timeout": "2s", "failureThreshold": 2},
  "discovery": {"engines": ["cri", "containerd"], "criSocket": %q, "containerdSocket": %q, "minInterval": "10ms"},
  "targets": [{"name": "static", "pid": %d, "liveness": {"exec": {"command": ["true"]}}}]
}`, c.Socket, c.Socket, static.PID)
	cmd, base, log := startAgent(t, cfg)

	web, dbName := "cri:"+ns+"/web-0/app", "cri:"+ns+"/db-0/db"
	var st status
	read := func() status { return readStatus(t, base) }
	byName := func(s status, name string) (health string, ready bool) {
		for _, tg := range s.Targets {
			if tg.Name == name {
				return tg.Health, tg.Ready
			}
		}
		return "absent", false
	}
	require.Eventually(t, func() bool {
		st = read()
		h, ready := byName(st, web)
		return h == "healthy" && ready && st.health(dbName) == "healthy" && st.health("static") == "healthy"
	}, 30*time.Second, 50*time.Millisecond, "status %+v; log %s", st, log)
	var names []string
	for _, tg := range st.Targets {
		names = append(names, tg.Name)
	}
	assert.ElementsMatch(t, []string{web, dbName, "static"}, names, "only the pods that declare probes for their container")
	assert.Contains(t, st.DiscoveryError, "cri container "+ns+"/bad-0/bad: "+key("bad", "liveness")+": exec: empty command")

	code, body := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	uid := func(pod string) string { return fmt.Sprintf("uid-%s-%d", pod, os.Getpid()) }
	for _, series := range []string{
		fmt.Sprintf(`prober_probe_total{container="app",namespace=%q,pod="web-0",pod_uid=%q,probe_type="Liveness",result="successful"}`, ns, uid("web-0")),
		fmt.Sprintf(`prober_probe_total{container="app",namespace=%q,pod="web-0",pod_uid=%q,probe_type="Readiness",result="successful"}`, ns, uid("web-0")),
		fmt.Sprintf(`prober_probe_total{container="db",namespace=%q,pod="db-0",pod_uid=%q,probe_type="Liveness",result="successful"}`, ns, uid("db-0")),
		`prober_probe_total{container="static",namespace="",pod="",pod_uid="",probe_type="Liveness",result="successful"}`,
	} {
		assert.Contains(t, body, series)
	}

	// The pod is deleted: the next resync drops it and its series; the
	// others keep being probed.
	require.NoError(t, db.Remove())
	require.Eventually(t, func() bool {
		st = read()
		return st.health(dbName) == "absent"
	}, 30*time.Second, 50*time.Millisecond, "status %+v", st)
	h, ready := byName(st, web)
	assert.Equal(t, "healthy", h)
	assert.True(t, ready)
	_, body = get(t, base+"/metrics")
	assert.NotContains(t, body, `pod="db-0"`)
	assert.Contains(t, body, `pod="web-0"`)

	stopAgent(t, cmd, log)
}

// The same with Docker: the declarations are container labels. A
// container whose label is wrong is named; one removed is dropped.
func TestNodeAgentDocker(t *testing.T) {
	testcontainer.RequireRoot(t)
	tarball, err := testcontainer.RootfsTar(t.TempDir())
	require.NoError(t, err)
	dd := testcontainer.StartDockerd(t)
	dd.Import(t, tarball, "nucleus-test:1", testcontainer.DefaultImage)
	label := func(check, v string) []string { return []string{"--label", ProbeKeyPrefix + check + "=" + v} }
	dd.Run(t, "web", "nucleus-test:1", append(label("liveness", fmt.Sprintf(`{"http":{"port":%d,"path":"/"}}`, testcontainer.WebPort)),
		label("readiness", `{"exec":{"command":["sh","-c","test \"$FOO\" = bar"]}}`)...)...)
	dd.Run(t, "gone", "nucleus-test:1", label("liveness", fmt.Sprintf(`{"tcp":{"port":%d}}`, testcontainer.WebPort))...)
	dd.Run(t, "typo", "nucleus-test:1", label("livenes", `{"tcp":{"port":1}}`)...)
	dd.Run(t, "unlabelled", "nucleus-test:1")

	cfg := fmt.Sprintf(`{
  "defaults": {"interval": "50ms", "timeout": "2s"},
  "discovery": {"engines": ["docker"], "dockerHost": %q, "dockerExecRoot": %q},
  "targets": []
}`, dd.Host, dd.ExecRoot)
	cmd, base, log := startAgent(t, cfg)
	read := func() status { return readStatus(t, base) }
	healthy := func(s status) map[string]bool {
		out := map[string]bool{}
		for _, tg := range s.Targets {
			out[tg.Name] = tg.Health == "healthy" && (tg.Name != "docker:web" || tg.Ready)
		}
		return out
	}
	var st status
	require.Eventually(t, func() bool {
		st = read()
		h := healthy(st)
		return h["docker:web"] && h["docker:gone"]
	}, 30*time.Second, 50*time.Millisecond, "status %+v; log %s", st, log)
	assert.Len(t, st.Targets, 2, "only the labelled containers: %+v", st)
	assert.Contains(t, st.DiscoveryError, `docker container typo: probe.nucleus.dev/livenes: unknown check "livenes"`)
	_, body := get(t, base+"/metrics")
	assert.Contains(t, body, `prober_probe_total{container="web",namespace="",pod="",pod_uid="",probe_type="Readiness",result="successful"}`)
	assert.Contains(t, body, `prober_probe_total{container="gone",namespace="",pod="",pod_uid="",probe_type="Liveness",result="successful"}`)

	_, err = dd.Cmd("rm", "-f", "gone").CombinedOutput()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st = read()
		_, present := healthy(st)["docker:gone"]
		return !present && len(st.Targets) == 1
	}, 30*time.Second, 50*time.Millisecond, "status %+v", st)
	_, body = get(t, base+"/metrics")
	assert.NotContains(t, body, `container="gone"`)

	// dockerd stops answering (stopped, its socket still there): the
	// listing fails after the engine package's bound, and the container
	// found before is kept and still probed, not dropped.
	require.NoError(t, syscall.Kill(dd.PID, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(dd.PID, syscall.SIGCONT) })
	require.Eventually(t, func() bool {
		st = read()
		return strings.Contains(st.DiscoveryError, "engine docker: ")
	}, 30*time.Second, 100*time.Millisecond, "status %+v", st)
	assert.True(t, healthy(st)["docker:web"], "status %+v", st)
	require.NoError(t, syscall.Kill(dd.PID, syscall.SIGCONT))

	stopAgent(t, cmd, log)
}
