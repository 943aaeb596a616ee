package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"nucleus/state"
)

// Dialed is a probe of a protocol this package does not speak itself, over
// TCP connections made inside the target's network namespace exactly as
// for TCP and HTTP probes (the same Host rules, gVisor included). Other
// packages build on it so that programs that do not use them do not link
// their dependencies: nucleus/probe/grpcprobe makes gRPC health checks
// from it. Check gets a dial function and returns the Result; it must
// close every connection it dialled before returning.
type Dialed struct {
	// Name is the probe's Kind ("grpc"); it must not be empty.
	Name string
	// Port is the TCP port, 1–65535.
	Port int
	// Host is an IP address as seen inside the container; empty means
	// 127.0.0.1 (see TCP.Host).
	Host string
	// Check runs the protocol. dial connects to Host:Port in the target's
	// namespace; a dial error is the container's answer (refused,
	// unreachable), which Check reports as a Failure. Check returns a
	// non-nil error only when the probe could not run (Status Unknown).
	Check func(ctx context.Context, dial func(context.Context) (net.Conn, error)) (Result, error)
}

// Kind returns Name.
func (p Dialed) Kind() string { return p.Name }

func (p Dialed) run(ctx context.Context, st *state.ContainerState, c *config) (Result, error) {
	if p.Name == "" || p.Check == nil {
		return Result{}, errors.New("probe: dialed probe without a name or a check")
	}
	addr, err := hostPort(p.Host, p.Port)
	if err != nil {
		return Result{}, fmt.Errorf("probe: %s: %w", p.Name, err)
	}
	h, release, err := c.dialNamespace(ctx, st, p.Host)
	if err != nil {
		return Result{}, fmt.Errorf("probe: %s: %w", p.Name, err)
	}
	defer release()
	// A dial that fails to get into the namespace (the target died, the
	// pidfd says so) is the prober's error, whatever Check makes of it.
	var mu sync.Mutex
	var setup error
	dial := func(ctx context.Context) (net.Conn, error) {
		conn, err := h.Dial(ctx, "tcp", addr)
		if err != nil {
			if _, ferr := dialFailure(ctx, err); ferr != nil && !errors.Is(ferr, context.Canceled) {
				mu.Lock()
				setup = ferr
				mu.Unlock()
			}
		}
		return conn, err
	}
	res, err := p.Check(ctx, dial)
	mu.Lock()
	defer mu.Unlock()
	if setup != nil {
		return Result{}, fmt.Errorf("probe: %s: %w", p.Name, setup)
	}
	if err != nil {
		return Result{}, fmt.Errorf("probe: %s: %w", p.Name, err)
	}
	return res, nil
}
