// Command probe health-checks a running container from inside its
// namespaces, the way kubelet's exec, TCP, HTTP and gRPC probes do, through
// nucleus/probe and nucleus/probe/grpcprobe.
//
//	probe --pid N [--timeout 1s] [--interval 1s] [--count 1] exec [--] command [args...]
//	probe --pid N [...] tcp [HOST:]PORT
//	probe --pid N [...] http [HOST:]PORT [PATH]
//	probe --pid N [...] grpc [HOST:]PORT [SERVICE]
//
// It runs the probe --count times (0: until SIGINT or SIGTERM), --interval
// apart, each bounded by --timeout, and prints one line per result:
//
//	status=Success exit=0 duration=1.52ms reason=
//
// exit is an exec probe's exit code (0 for TCP, HTTP and gRPC; 127 or 126
// for a command that cannot run); reason says why a probe failed
// ("timeout", "exit status 3", "HTTP 404", a dial error), and is quoted
// when it holds spaces. probe exits 0 when the last result is
// Success, 1 otherwise, and 2 for usage errors or a target it cannot probe
// at all (not running, not enterable), reported as "probe: <error>" on
// stderr.
package main

import "os"

func main() {
	os.Exit(probeMain(os.Args[1:]))
}
