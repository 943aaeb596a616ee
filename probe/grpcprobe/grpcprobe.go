// Package grpcprobe health-checks a container's gRPC server with the
// standard health protocol (grpc.health.v1.Health/Check), as kubelet's
// gRPC probe does, from inside the container's network namespace.
//
// It lives apart from nucleus/probe so that a program that does not probe
// gRPC does not link google.golang.org/grpc. The probe is a probe.Dialed:
// its connection is the socket nucleus/probe makes inside the target's
// network namespace (grpc.WithContextDialer returns it), so 127.0.0.1 is
// the container's loopback and gVisor targets follow probe.TCP's rules.
//
// Results, like kubelet's: SERVING → Success; any other status
// (NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN) → Failure "service unhealthy
// (responded with NOT_SERVING)"; a server without the health service
// (Unimplemented) → Failure saying so; an unknown service name (NotFound)
// → Failure naming it; no connection or no answer in time → Failure. The
// connection is plain text (kubelet's gRPC probe does not use TLS either).
//
// grpc-go writes its own log through the process-wide grpclog logger; by
// default it discards everything below ERROR, and this package does not
// replace the embedder's logger. The probes write nothing to stdout or
// stderr themselves.
package grpcprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"nucleus/probe"
)

// Kind is the Kind of the probes this package makes.
const Kind = "grpc"

// UserAgent is the user agent of the health RPC (kubelet sends
// "kube-probe/<version>").
const UserAgent = "nucleus-probe/1.0"

// Config says which health service to ask.
type Config struct {
	// Port is the server's TCP port, 1–65535.
	Port int
	// Host is an IP address as seen inside the container; empty means
	// 127.0.0.1 (see probe.TCP.Host).
	Host string
	// Service is the service name sent in the HealthCheckRequest; empty
	// asks about the server as a whole (kubelet's grpc.service).
	Service string
}

// Probe returns the gRPC health probe cfg describes, for probe.Run,
// probe.RunProbe and probe.Monitor targets.
func Probe(cfg Config) probe.Probe {
	return probe.Dialed{Name: Kind, Port: cfg.Port, Host: cfg.Host, Check: cfg.check}
}

// check makes one Check RPC on a connection from dial and sorts the
// answer (see the package documentation).
func (cfg Config) check(ctx context.Context, dial func(context.Context) (net.Conn, error)) (probe.Result, error) {
	var mu sync.Mutex
	var dialErr error // the last dial's, from grpc's goroutine
	cc, err := grpc.NewClient("passthrough:///"+net.JoinHostPort(hostOf(cfg.Host), strconv.Itoa(cfg.Port)),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := dial(ctx)
			mu.Lock()
			dialErr = err
			mu.Unlock()
			return c, err
		}),
		grpc.WithUserAgent(UserAgent),
		grpc.WithDisableRetry(),
		grpc.WithNoProxy(),
	)
	if err != nil {
		return probe.Result{}, fmt.Errorf("client: %w", err)
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: cfg.Service})
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		return rpcFailure(ctx, cfg, err, dialErr)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return probe.Result{Status: probe.Failure, Reason: "service unhealthy (responded with " + s.String() + ")"}, nil
	}
	return probe.Result{Status: probe.Success}, nil
}

// rpcFailure sorts a failed health RPC: a cancellation is not the
// container's answer (an error, Unknown); everything else is (Failure).
func rpcFailure(ctx context.Context, cfg Config, err, dialErr error) (probe.Result, error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return probe.Result{}, ctx.Err()
	}
	fail := func(reason string) (probe.Result, error) {
		return probe.Result{Status: probe.Failure, Reason: reason}, nil
	}
	st := status.Convert(err)
	switch {
	case dialErr != nil:
		// The dial's own text ("connection refused") says more than
		// grpc's Unavailable wrapping of it.
		return fail("failed to connect: " + dialErr.Error())
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || st.Code() == codes.DeadlineExceeded:
		return fail("timeout: health rpc did not complete in time")
	case st.Code() == codes.Unimplemented:
		return fail("the server does not implement the gRPC health protocol (grpc.health.v1.Health): " + st.Message())
	case st.Code() == codes.NotFound:
		return fail(fmt.Sprintf("service %q unknown to the server: %s", cfg.Service, st.Message()))
	}
	return fail("health rpc failed: " + st.Code().String() + ": " + st.Message())
}

func hostOf(h string) string {
	if h == "" {
		return "127.0.0.1"
	}
	return h
}
