package probe

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// A container answering with endless headers: the probe fails at the header
// cap, naming it, and allocates a bounded amount (http.Transport would read
// up to 10 MiB of header, tens of MB of heap per probe).
func TestHTTPEndlessHeadersCapped(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	const p = 8091
	ncScript(t, c, p, "endless", `printf 'HTTP/1.1 200 OK\r\n'
while printf 'X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'; do :; done
`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := RunProbe(c.PID, HTTP{Port: p}, 5*time.Second)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Contains(t, res.Reason, "response header too large")
	assert.Contains(t, res.Reason, fmt.Sprint(DefaultMaxHeaderBytes), "the Reason names the cap")
	alloc := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, alloc, uint64(1<<20), "bytes allocated by one probe of endless headers")
	t.Logf("allocated %d bytes for the probe", alloc)

	res, err = RunProbe(c.PID, HTTP{Port: p}, 5*time.Second, WithMaxHeaderBytes(1000))
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Contains(t, res.Reason, "1000 bytes")
}

// A container that answers before the request and again after it
// (unsolicited responses): the probe takes the first answer and nothing
// reaches the process's stderr. http.Transport logged "Unsolicited
// response received on idle HTTP channel" there through the global log
// package when the bytes came before the request was on its way.
func TestHTTPUnsolicitedResponseSilent(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	const p = 8092
	path, err := buildTestServer()
	require.NoError(t, err)
	bin, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "early"), bin, 0o755))
	c.Serve(t, p, "/early", "early", strconv.Itoa(p))
	var results []Result
	out := testutil.CaptureStderr(t, 200*time.Millisecond, func() {
		for range 30 {
			res, err := RunProbe(c.PID, HTTP{Port: p}, 3*time.Second)
			require.NoError(t, err)
			results = append(results, res)
		}
	})
	assert.Empty(t, out, "written to fd 2 during the probes")
	for _, res := range results {
		assert.Equal(t, Success, res.Status, res.Reason)
		assert.Equal(t, "ok", string(res.Output))
	}
}

// buildTestServer builds grpcprobe's static test server (its "early" mode
// is a hostile HTTP server) once per test process.
var buildTestServer = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(testServerDir, "healthserver")
	return bin, testutil.BuildStatic("./grpcprobe/testdata/healthserver", bin)
})

// Kubelet's redirect rule against a container: a redirect to the same host
// (another port) is followed, one to another host is a Success with a
// Warning, a loop stops after MaxRedirects.
func TestHTTPRedirectsInContainer(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: port})
	redirect := func(p int, name, loc string) {
		ncScript(t, c, p, name, fmt.Sprintf(`printf 'HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n'
sleep 1
`, loc))
	}
	redirect(8093, "tohealthz", fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	redirect(8094, "to404", fmt.Sprintf("http://127.0.0.1:%d/status/404", port))
	redirect(8095, "offhost", "http://192.0.2.1/elsewhere")
	redirect(8096, "loop", "/again")

	res, err := RunProbe(c.PID, HTTP{Port: 8093}, 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, res.Reason)
	assert.Equal(t, "ok\n", string(res.Output), "the body of the redirect's target")
	assert.Empty(t, res.Warning)

	res, err = RunProbe(c.PID, HTTP{Port: 8094}, 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status, "the same-host redirect was followed to the 404")
	assert.Equal(t, "HTTP 404", res.Reason)

	res, err = RunProbe(c.PID, HTTP{Port: 8095}, 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, res.Reason)
	assert.Contains(t, res.Warning, "192.0.2.1", "an off-host redirect is not followed, and says so")

	res, err = RunProbe(c.PID, HTTP{Port: 8096}, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, fmt.Sprintf("stopped after %d redirects", MaxRedirects), res.Reason)
}
