package engine_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// deps lists the packages pkg links.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v: %s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

// A program importing only nucleus/attach (or probe) must not link any
// engine client: this package, gRPC, containerd's API or CRI.
func TestAttachDoesNotLinkEngineClients(t *testing.T) {
	for _, pkg := range []string{"nucleus/attach", "nucleus/probe", "nucleus/state"} {
		for _, d := range deps(t, pkg) {
			for _, bad := range []string{"nucleus/state/engine", "google.golang.org/grpc", "github.com/containerd/", "k8s.io/"} {
				if strings.HasPrefix(d, bad) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}

// grpcPrefixes are what the gRPC sources link: their package
// initialisation (protobuf descriptors, grpc, x/net/trace) cost nsattach
// ≈ 1.8 ms per start.
var grpcPrefixes = []string{"google.golang.org/grpc", "google.golang.org/protobuf", "k8s.io/cri-api", "github.com/containerd/containerd/api"}

// engine itself and nsattach (which imports engine alone) link none of
// them; the node agent, which imports nucleus/state/engine/cri and
// .../containerd, does (the control).
func TestEngineCoreDoesNotLinkGRPC(t *testing.T) {
	for _, pkg := range []string{"nucleus/state/engine", "nucleus/examples/nsattach"} {
		for _, d := range deps(t, pkg) {
			for _, bad := range grpcPrefixes {
				if strings.HasPrefix(d, bad) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
	agent := deps(t, "nucleus/examples/nodeagent")
	for _, want := range []string{"nucleus/state/engine/cri", "nucleus/state/engine/containerd", "google.golang.org/grpc", "k8s.io/cri-api/pkg/apis/runtime/v1"} {
		if !slices.Contains(agent, want) {
			t.Errorf("nodeagent does not link %s", want)
		}
	}
}

// netHTTPPrefixes are package net and its subpackages (net/http,
// net/url, net/textproto and the resolver) and what net/http links
// besides: TLS, X.509 and HTTP/2 — ≈ 0.5 ms of package initialisation and
// page faults at every start of a process (measured on nsattach --help).
var netHTTPPrefixes = []string{"net", "crypto/tls", "crypto/x509", "vendor/golang.org/x/net/http2"}

// engine speaks HTTP/1.0 to Docker and Podman over a raw UNIX socket
// itself (api.go), so neither it nor nsattach links any of them; the node
// agent, which serves metrics over HTTP, does (the control).
func TestEngineCoreDoesNotLinkNetHTTP(t *testing.T) {
	for _, pkg := range []string{"nucleus/state/engine", "nucleus/examples/nsattach"} {
		for _, d := range deps(t, pkg) {
			for _, bad := range netHTTPPrefixes {
				if d == bad || strings.HasPrefix(d, bad+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
	if agent := deps(t, "nucleus/examples/nodeagent"); !slices.Contains(agent, "net/http") {
		t.Error("nodeagent does not link net/http")
	}
}
