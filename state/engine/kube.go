package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"nucleus/state"
)

// The annotations that name a Kubernetes container in its OCI bundle's
// config.json. containerd's CRI plugin writes the pod's namespace and name
// and the container's name from the CRI request (after any annotations a
// pod passes through, so that these win), and marks the pod sandbox
// (pause) container as such; CRI-O writes kubelet's metadata under its own
// keys (kubelet's own labels, which a pod's labels cannot override).
// Whoever may create pods through the CRI (kubelet) writes them; the
// container's processes cannot (the bundle is outside its root). CRI-O
// copies a pod's annotations into its infra container's config after its
// own keys, so a pod's author could give the pod's infra container the name
// of one of the pod's own containers: both then match, an AmbiguousError,
// never another pod's container.
const (
	criContainerType    = "io.kubernetes.cri.container-type"
	criSandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
	criSandboxName      = "io.kubernetes.cri.sandbox-name"
	criContainerName    = "io.kubernetes.cri.container-name"
	crioContainerType   = "io.kubernetes.cri-o.ContainerType"
	crioPodNamespace    = "io.kubernetes.pod.namespace"
	crioPodName         = "io.kubernetes.pod.name"
	crioContainerName   = "io.kubernetes.container.name"
)

// isKubeName reports whether a looked-up name has the form
// namespace/pod/container: only then are bundles read for annotations.
func isKubeName(name string) bool { return strings.Count(name, "/") == 2 }

// kubeName is namespace/pod/container from a bundle's annotations; false
// for a pod sandbox (it has the pod's name but is not a container of it)
// and for a container no CRI made.
func kubeName(a map[string]string) (string, bool) {
	parts := []string{a[crioPodNamespace], a[crioPodName], a[crioContainerName]}
	switch t, ok := a[criContainerType]; {
	case ok && t != "container":
		return "", false
	case ok:
		parts = []string{a[criSandboxNamespace], a[criSandboxName], a[criContainerName]}
	case a[crioContainerType] != "" && a[crioContainerType] != "container", a[crioContainerName] == "POD":
		return "", false
	}
	for _, p := range parts {
		if p == "" || strings.Contains(p, "/") {
			return "", false
		}
	}
	return strings.Join(parts, "/"), true
}

// kubeAliasers bounds the kubeAlias calls at work at once: each may run
// the runtime's `state`.
const kubeAliasers = 4

// kubeAliases runs kubeAlias for every container, a few at a time, and
// returns the failures; askRuntime as kubeAlias's.
func kubeAliases(ctx context.Context, all []Container, askRuntime bool) []error {
	errs := make([]error, len(all))
	sem := make(chan struct{}, kubeAliasers)
	var wg sync.WaitGroup
	for i := range all {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = all[i].kubeAlias(ctx, askRuntime)
		})
	}
	wg.Wait()
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// kubeAlias names a container a runtime root listed namespace/pod/container
// when its bundle's annotations say it is a Kubernetes container. The
// bundle is the one containerd's state directory holds for the task, else
// (CRI-O's runtimes, whose bundles are elsewhere) the one the runtime's
// state reports, which costs a `runc state`: so it is done only for a name
// of that form, or for List, and only when askRuntime is set (Find first
// reads the bundles it knows). A name an engine's API gave is kept.
func (c *Container) kubeAlias(ctx context.Context, askRuntime bool) error {
	if c.Engine != Runtime || c.kubeRead {
		return nil
	}
	bundle := c.bundle
	if bundle != "" {
		if _, err := os.Lstat(bundle); err != nil {
			bundle = "" // not in the state directory searched: ask the runtime
		}
	}
	if bundle == "" {
		bundle = c.stateBundle
	}
	if bundle == "" && !askRuntime {
		return nil
	}
	if bundle == "" && len(c.roots) > 0 {
		st, err := runtimeState(ctx, c.roots[0], c.ID)
		if errors.Is(err, errAbsent) {
			return nil // gone since it was listed
		}
		if err != nil {
			return fmt.Errorf("engine: %s: %w", c.Name, err)
		}
		bundle = st.BundlePath
	}
	if bundle == "" {
		return nil
	}
	c.kubeRead = true
	a, err := bundleAnnotations(bundle)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: %s: %w", c.Name, err)
	}
	if name, ok := kubeName(a); ok {
		c.Name, c.kubeBundle = name, bundle
		c.aliases = append(c.aliases, name)
	}
	return nil
}

// bundleAnnotations reads the annotations of <bundle>/config.json. Its
// names decide which container a name designates, so the bundle must be
// root's (or the caller's) and writable by no one else, like a runtime
// root, and config.json a regular file of the same owner and mode.
func bundleAnnotations(bundle string) (map[string]string, error) {
	if _, err := state.CheckRuntimeRoot(bundle); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", bundle, err)
	}
	p := filepath.Join(bundle, "config.json")
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if uid := ownerUID(fi); !fi.Mode().IsRegular() || (uid != 0 && uid != uint32(euid())) || fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%s: not a regular file of root or uid %d writable by no other (owner %d, mode %v)", p, euid(), uid, fi.Mode())
	}
	spec, err := state.ReadBundleSpec(bundle)
	if err != nil {
		return nil, err
	}
	return spec.Annotations, nil
}
