package probe

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"

	"nucleus/internal/launch"
	"nucleus/internal/netns"
	"nucleus/state"
)

// TCP and HTTP probes of a gVisor sandbox
//
// The PID of a gVisor container is the sandbox supervisor, a host process;
// the workload's sockets live in the sandbox kernel. Where a host socket
// can reach them depends on runsc's --network, which the supervisor's
// command line carries:
//
//   - host: the sandbox kernel uses host sockets, in the supervisor's
//     network namespace. The probe dials there, Host defaulting to
//     127.0.0.1, as for any container.
//   - none: the sandbox kernel has a loopback interface only, which no
//     host socket reaches: Unknown, with an error wrapping ErrUnsupported.
//   - sandbox (the default), or any other stack inside the sandbox: runsc
//     moves the addresses (and so the routes) of the interfaces of the
//     supervisor's network namespace into the sandbox kernel, which then
//     answers for them on the wire. Nothing inside that namespace reaches
//     them any more (and the sandbox's loopback not at all), but the
//     network outside does, as kubelet dials a pod's IP from the node.
//     So a probe whose Host is the sandbox's own address (an IP that is
//     neither loopback nor unspecified) is dialled from the caller's
//     network namespace; without one, the probe is Unknown with an error
//     wrapping ErrUnsupported: the address is not to be found on the host.

// The values of runsc's --network.
const (
	runscNetworkSandbox = "sandbox"
	runscNetworkHost    = "host"
	runscNetworkNone    = "none"
)

// dialNamespace returns the network namespace in which a TCP or HTTP probe
// of st dials host (the probe's Host): st's own for a container, and for a
// gVisor sandbox the one described above.
//
// A sandbox's --network comes from its command line, which any process can
// forge (a process of an ordinary container could so have its probe dialled
// from the caller's network namespace), so it is read only once the kernel
// and runsc vouch for the claim (launch.VerifySandbox with the probe's
// runsc): a claim that fails makes the probe Unknown with an error wrapping
// ErrPermission. A verified runsc sandbox never rewrites its command line.
func (c *config) dialNamespace(ctx context.Context, st *state.ContainerState, host string) (*netns.Handle, func(), error) {
	if !st.UsingGVisor {
		return c.namespace(st)
	}
	if err := launch.VerifySandbox(ctx, st, c.runsc); err != nil {
		return nil, nil, err
	}
	network, err := sandboxNetwork(st.PID)
	if err != nil {
		return nil, nil, err
	}
	switch network {
	case runscNetworkHost:
		return c.namespace(st)
	case runscNetworkNone:
		return nil, nil, fmt.Errorf("container %q is a gVisor sandbox without a network (runsc --network=none): its only interface is the sandbox kernel's loopback, which no host socket reaches: %w",
			st.ID, ErrUnsupported)
	}
	if !sandboxAddress(host) {
		return nil, nil, fmt.Errorf("container %q is a gVisor sandbox with its own network stack (runsc --network=%s): its loopback is inside the sandbox kernel, and runsc moved its addresses off the host interfaces of its network namespace, so no host socket there reaches it; give the sandbox's IP as Host to dial it from the caller's network namespace, as kubelet dials a pod IP: %w",
			st.ID, network, ErrUnsupported)
	}
	// The caller's own network namespace: its PID's, which is the main
	// thread's. The target's liveness is still checked through its pidfd
	// first, so a gone sandbox is ErrNotRunning, not a dial failure.
	target, err := netns.Open(st.PID, st.StartTicks)
	if err != nil {
		return nil, nil, err
	}
	target.Close()
	h, err := netns.Open(os.Getpid(), 0)
	if err != nil {
		return nil, nil, err
	}
	return h, func() { h.Close() }, nil
}

// sandboxAddress reports whether host names an address a sandbox's own
// network stack can be reached at from outside: an IP literal, neither
// loopback nor unspecified ("", "localhost" and host names are not).
func sandboxAddress(host string) bool {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	return !ip.IsLoopback() && !ip.IsUnspecified()
}

// sandboxNetwork returns the --network of the runsc that started the
// sandbox supervisor pid, read from its command line (parseSandboxNetwork).
func sandboxNetwork(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "", fmt.Errorf("gvisor sandbox %d: %w: %w", pid, ErrNotRunning, err)
	}
	network, ok := parseSandboxNetwork(strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00"))
	if !ok {
		return "", fmt.Errorf("gvisor sandbox %d: its command line is not runsc's: %w", pid, ErrStale)
	}
	return network, nil
}

// parseSandboxNetwork reads runsc's --network from a sandbox supervisor's
// argv: runsc-sandbox <global flags> boot ..., where --network is a global
// flag (-network or --network, with the value after '=' or in the next
// argument, as Go's flag package takes it; absent: runsc's default,
// sandbox). ok is false when argv[0] is not runsc's.
func parseSandboxNetwork(argv []string) (network string, ok bool) {
	if len(argv) == 0 || (path.Base(argv[0]) != "runsc-sandbox" && path.Base(argv[0]) != "runsc") {
		return "", false
	}
	network = runscNetworkSandbox
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "boot" || a == "--" {
			break
		}
		for _, p := range []string{"--network", "-network"} {
			if v, found := strings.CutPrefix(a, p+"="); found {
				network = v
			} else if a == p && i+1 < len(argv) {
				network = argv[i+1]
				i++
			}
		}
	}
	return network, true
}
