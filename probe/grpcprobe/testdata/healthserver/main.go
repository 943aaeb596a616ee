// Command healthserver is the gRPC server grpcprobe's tests run inside a
// test container (built static, CGO_ENABLED=0): the standard health service
// on 127.0.0.1:PORT, with the server ("") and "app" SERVING and "sick"
// NOT_SERVING; any other service name is unknown (NotFound). With PORT2 it
// also serves a gRPC server without the health service there.
//
//	healthserver PORT [PORT2]
//	healthserver early PORT
//
// "early" is a hostile HTTP server for nucleus/probe's tests instead: on
// every connection it answers at once, before reading the request, and
// again a moment later (unsolicited responses).
package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "early" {
		early(os.Args[2])
		return
	}
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

func early(port string) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthserver:", err)
		os.Exit(1)
	}
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			c.Write([]byte(resp))
			time.Sleep(50 * time.Millisecond)
			c.Write([]byte(resp))
			time.Sleep(500 * time.Millisecond)
		}()
	}
}
