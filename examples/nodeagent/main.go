// Command nodeagent runs nucleus probes for the containers of one node, the
// way kubelet's prober does, without a container runtime in the loop: it
// reads declared targets and checks (a JSON file; see Config), probes them
// with a probe.Monitor from inside their namespaces, and serves kubelet's
// prober metrics on /metrics, its own health on /healthz and every
// target's health and recent results on /status.
//
//	nodeagent --config /etc/nucleus/targets.json [--listen 127.0.0.1:9355] [--resync 30s]
//
// Targets are found by Discoverers, again every --resync (a restarted
// container gets a fresh Monitor state, a removed one is dropped): the
// static list of the file (by pid, nucleus state file or OCI state file)
// and, with the file's "discovery" section, the running containers of the
// node's engines (nucleus/state/engine) that declare probes: pod
// annotations probe.nucleus.dev/<container>.<check> through CRI, container
// labels probe.nucleus.dev/<check> on Docker, Podman and containerd (see
// ProbeKeyPrefix). daemonset.yaml runs it on every node of a Kubernetes
// cluster.
// It logs to stderr.
package main

import "os"

func main() {
	os.Exit(agentMain(os.Args[1:]))
}
