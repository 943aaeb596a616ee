package attach_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
)

// ReleaseExecutable closes the executable view at any moment, also while
// attaches run: each of them keeps the view until its child was executed
// from it, so all succeed, and the next one makes a new view (the fd count
// ends where it began).
func TestReleaseExecutableDuringAttaches(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	before, kids := baseline(t, st)

	stop := make(chan struct{})
	releaser := make(chan struct{})
	go func() {
		defer close(releaser)
		for {
			select {
			case <-stop:
				return
			default:
				attach.ReleaseExecutable()
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				code, err := attach.Attach(st, []string{"true"}, attach.WithStdio(nil, nil, nil))
				assert.NoError(t, err)
				assert.Equal(t, 0, code)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-releaser

	attach.ReleaseExecutable()
	assert.Equal(t, before-1, fdCount(t), "the view's fd is closed")
	code, err := attach.Attach(st, []string{"true"}, attach.WithStdio(nil, nil, nil))
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, before, fdCount(t), "a new view")
	assert.Equal(t, kids, children(t))
}
