package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrNoBundle: the state names no OCI bundle, so there is no config.json
// to read the container's process description from.
var ErrNoBundle = errors.New("no OCI bundle")

// BundleSpec reads the OCI runtime configuration (<BundlePath>/config.json)
// the container was created from: its process description (user, env, cwd,
// capabilities, rlimits, no_new_privs, LSM labels) and its linux section
// (seccomp among others), which `runc exec` takes as the defaults of every
// process it adds to the container. A state without a bundle (FromPID, a
// nucleus state file without bundle_path) yields ErrNoBundle.
//
// The bundle is a host directory written by the runtime or engine that made
// the container, not by the container; still, config.json must be a regular
// file (opened non-blocking, so that a FIFO cannot hang the caller) and is
// read up to 4 MiB.
func (s *ContainerState) BundleSpec() (*specs.Spec, error) {
	if s.BundlePath == "" {
		return nil, fmt.Errorf("state: container %q: bundle spec: %w", s.ID, ErrNoBundle)
	}
	return ReadBundleSpec(s.BundlePath)
}

// ReadBundleSpec reads <bundle>/config.json as BundleSpec describes.
func ReadBundleSpec(bundle string) (*specs.Spec, error) {
	p := filepath.Join(bundle, "config.json")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("state: bundle spec: %w", &os.PathError{Op: "open", Path: p, Err: err})
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("state: bundle spec: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("state: bundle spec: %s: not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, fmt.Errorf("state: bundle spec: %s: %w", p, err)
	}
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("state: bundle spec: %s: larger than %d bytes", p, maxStateFile)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("state: bundle spec: %s: %w", p, err)
	}
	return &spec, nil
}
