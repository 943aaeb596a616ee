package attach_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// Starts cancelled at every moment of their setup — before the middle
// child exists, while it joins and clones, after the clone and before its
// PID report, after the command runs — leave no process, no zombie and no
// fd. A middle child killed between its clone and its report once left the
// grandchild behind as an unreaped child nobody knew the PID of, and the
// container's PID namespace could not finish dying.
func TestCancelledStartsLeaveNothing(t *testing.T) {
	for _, opts := range []struct {
		name string
		o    testcontainer.Options
	}{{"own cgroups", testcontainer.Options{Cgroup: true}}, {"shared cgroups", testcontainer.Options{}}} {
		t.Run(opts.name, func(t *testing.T) {
			c, st := container(t, opts.o)
			before, kids := baseline(t, st)
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(seed uint64) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, 1))
					for i := 0; i < 25; i++ {
						ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(8000))*time.Microsecond)
						_, _ = attach.AttachContext(ctx, st, []string{"true"})
						cancel()
					}
				}(uint64(g))
			}
			wg.Wait()
			assert.Eventually(t, func() bool { return len(inContainer(t, c)) == 0 }, 10*time.Second, 10*time.Millisecond,
				"no process of a cancelled start may survive: %v", inContainer(t, c))
			assert.Eventually(t, func() bool { return assert.ObjectsAreEqual(kids, children(t)) }, 10*time.Second, 10*time.Millisecond,
				"no zombie: children %v (%v), before %v", children(t), testutil.ZombieChildren(t), kids)
			// An abandoned start's cleanup closes its socket when it has
			// reaped what it started.
			assert.Eventually(t, func() bool { return fdCount(t) == before }, 10*time.Second, 10*time.Millisecond,
				"no fd: %d, before %d", fdCount(t), before)
			// Nor a command cgroup, and not later: one start at a time, each
			// has removed its own when it returns, not left it to the
			// reaper, which ends with this process (a CLI exits right
			// after the failure).
			r := rand.New(rand.NewPCG(99, 1))
			for i := 0; i < 40; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(8000))*time.Microsecond)
				_, err := attach.AttachContext(ctx, st, []string{"true"})
				cancel()
				left, lerr := c.CommandCgroups()
				assert.NoError(t, lerr)
				if !assert.Empty(t, left, "command cgroup left when AttachContext returned (err %v)", err) {
					break
				}
			}
			assert.NoError(t, c.Close(), "the container ends: nothing of ours holds its PID namespace")
		})
	}
}
