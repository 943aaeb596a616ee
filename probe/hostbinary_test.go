package probe

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/launch"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// An exec probe whose binary the image does not ship: the host's static
// busybox wgets the container's own listener, from inside, in a Monitor —
// healthy, unhealthy once the listener stops, healthy again. A dynamically
// linked probe binary is refused.
func TestMonitorHostBinaryProbe(t *testing.T) {
	testcontainer.RequireRoot(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		testutil.Missing(t, "/bin/busybox (busybox-static): %v", err)
	}
	c := testcontainer.New(t, testcontainer.Options{Port: port, Distroless: true})
	st, err := c.State()
	require.NoError(t, err)

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	wget := Exec{Command: []string{"wget", "-q", "-O", "-", url}, HostBinary: "/bin/busybox"}
	res, err := Run(context.Background(), st, wget)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, "%+v", res)
	assert.Equal(t, "ok\n", string(res.Output))

	_, err = Run(context.Background(), st, Exec{Command: []string{"ls"}, HostBinary: "/bin/ls"})
	assert.True(t, errors.Is(err, launch.ErrDynamicBinary), "%v", err)

	m := NewMonitor(MonitorConfig{Interval: 50 * time.Millisecond, Timeout: time.Second, FailureThreshold: 2},
		Target{Name: "wget", State: st, Probe: wget})
	ch := m.Transitions()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	expect(t, ch, "wget", HealthUnknown, Healthy)
	require.NoError(t, c.StopListener())
	tr := expect(t, ch, "wget", Healthy, Unhealthy)
	assert.Equal(t, Failure, tr.Result.Status)
	require.NoError(t, c.StartListener())
	expect(t, ch, "wget", Unhealthy, Healthy)
	cancel()
	for range ch {
	}
	require.NoError(t, <-done)
}
