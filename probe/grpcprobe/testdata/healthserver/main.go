// Command healthserver is the gRPC server grpcprobe's tests run inside a
// test container (built static, CGO_ENABLED=0): the standard health service
// on 127.0.0.1:PORT, with the server ("") and "app" SERVING and "sick"
// NOT_SERVING; any other service name is unknown (NotFound). With PORT2 it
// also serves a gRPC server without the health service there.
//
//	healthserver PORT [PORT2]
package main

import (
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: healthserver PORT [PORT2]")
		os.Exit(2)
	}
	if len(os.Args) > 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthserver:", err)
			os.Exit(1)
		}
		go grpc.NewServer().Serve(ln)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthserver:", err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	h.SetServingStatus("app", healthpb.HealthCheckResponse_SERVING)
	h.SetServingStatus("sick", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s, h)
	if err := s.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "healthserver:", err)
		os.Exit(1)
	}
}
