package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/harden"
	"nucleus/internal/proc"
	"nucleus/state"
)

// readConfinement reads what confines the target, in the parent, before the
// child starts: the kernel's view of the target process (capability sets
// and no_new_privs from /proc/PID/status, resource limits by prlimit, the
// LSM label from /proc/PID/attr), narrowed by the container's OCI config
// when the state came from an OCI runtime and its bundle is readable
// (process.capabilities, noNewPrivileges, linux.seccomp compiled to a
// filter). The process's own values and the config's are combined so that
// neither is exceeded: capability sets are intersected, no_new_privs is set
// when either has it. The part that comes from the config (the compiled
// profile above all) is cached per target (pid, start ticks, bundle).
//
// A bundle whose config.json is missing is read as "no config" (a bare
// PID's confinement); one that exists but cannot be read or compiled is an
// error: its profile would be silently dropped otherwise.
func readConfinement(st *state.ContainerState) (*harden.Confinement, error) {
	status, err := proc.ReadStatus(st.PID)
	if err != nil {
		return nil, fmt.Errorf("read the target's confinement: %w", err)
	}
	c := &harden.Confinement{
		Caps: harden.CapSets{Bounding: status.CapBnd, Permitted: status.CapPrm, Effective: status.CapEff,
			Inheritable: status.CapInh, Ambient: status.CapAmb},
		NoNewPrivs: status.NoNewPrivs == 1,
	}
	fromSpec, err := specConfinementFor(st)
	if err != nil {
		return nil, fmt.Errorf("read the target's confinement: %w", err)
	}
	if fromSpec != nil {
		if fromSpec.hasCaps {
			k := fromSpec.caps
			c.Caps = harden.CapSets{Bounding: c.Caps.Bounding & k.Bounding, Permitted: c.Caps.Permitted & k.Permitted,
				Effective: c.Caps.Effective & k.Effective, Inheritable: c.Caps.Inheritable & k.Inheritable,
				Ambient: c.Caps.Ambient & k.Ambient}
			// Keep the kernel's invariants after the intersection.
			c.Caps.Permitted &= c.Caps.Bounding
			c.Caps.Effective &= c.Caps.Permitted
			c.Caps.Ambient &= c.Caps.Permitted & c.Caps.Inheritable
		}
		c.NoNewPrivs = c.NoNewPrivs || fromSpec.noNewPrivs
		if fromSpec.seccomp != nil {
			c.Seccomp = [][]harden.SockFilter{fromSpec.seccomp}
		}
	}

	limits, err := proc.Rlimits(st.PID)
	switch {
	case err == nil:
		c.Rlimits = make([]harden.Rlimit, len(limits))
		for i, l := range limits {
			c.Rlimits[i] = harden.Rlimit{Resource: uint32(l.Resource), Cur: l.Cur, Max: l.Max}
		}
	case fromSpec != nil && fromSpec.rlimits != nil:
		c.Rlimits = fromSpec.rlimits
	default:
		return nil, fmt.Errorf("read the target's confinement: %w", err)
	}

	label, lsm, err := proc.LSMLabel(st.PID)
	if err != nil {
		return nil, fmt.Errorf("read the target's confinement: %w", err)
	}
	switch {
	case label == "":
	case lsm == proc.AppArmor:
		c.LSMExec = harden.LSMExec{Attr: "attr/apparmor/exec", Value: "exec " + label}
	default:
		c.LSMExec = harden.LSMExec{Attr: "attr/exec", Value: label}
	}
	// Everything above was read by PID number: the target still being the
	// process of the state (same start ticks) is checked by the caller,
	// which reads by pidfd afterwards (openPidfd, namespacesToJoin).
	return c, nil
}

// specConfinement is what the OCI config says, compiled.
type specConfinement struct {
	hasCaps    bool
	caps       harden.CapSets
	noNewPrivs bool
	seccomp    []harden.SockFilter
	rlimits    []harden.Rlimit
}

// confKey names a target whose config was compiled.
type confKey struct {
	pid    int
	ticks  uint64
	bundle string
}

// confCache holds the compiled configs of recent targets (the config file
// itself is cached by bundleSpec); a target is never reused by another
// process (start ticks), so entries never go stale, and the map is emptied
// when it grows past confCacheMax.
var confCache struct {
	sync.Mutex
	m map[confKey]*specConfinement
}

const confCacheMax = 256

func specConfinementFor(st *state.ContainerState) (*specConfinement, error) {
	if st.BundlePath == "" {
		return nil, nil
	}
	key := confKey{st.PID, st.StartTicks, st.BundlePath}
	confCache.Lock()
	sc, ok := confCache.m[key]
	confCache.Unlock()
	if ok {
		return sc, nil
	}
	spec, err := bundleSpec(st.BundlePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sc, err = compileSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", st.BundlePath, err)
	}
	confCache.Lock()
	if confCache.m == nil || len(confCache.m) >= confCacheMax {
		confCache.m = map[confKey]*specConfinement{}
	}
	confCache.m[key] = sc
	confCache.Unlock()
	return sc, nil
}

// compileSpec extracts the confinement of spec's process.
func compileSpec(spec *specs.Spec) (*specConfinement, error) {
	sc := &specConfinement{}
	if p := spec.Process; p != nil {
		sc.noNewPrivs = p.NoNewPrivileges
		// runc gives a process without process.capabilities no
		// capability at all; so does this.
		sc.hasCaps = true
		if k := p.Capabilities; k != nil {
			var err error
			set := func(names []string) uint64 {
				m, e := capMask(names)
				if e != nil && err == nil {
					err = e
				}
				return m
			}
			sc.caps = harden.CapSets{Bounding: set(k.Bounding), Permitted: set(k.Permitted), Effective: set(k.Effective),
				Inheritable: set(k.Inheritable), Ambient: set(k.Ambient)}
			if err != nil {
				return nil, fmt.Errorf("process.capabilities: %w", err)
			}
		}
		for _, r := range p.Rlimits {
			v, ok := rlimitNames[r.Type]
			if !ok {
				return nil, fmt.Errorf("process.rlimits: unknown type %q", r.Type)
			}
			sc.rlimits = append(sc.rlimits, harden.Rlimit{Resource: v, Cur: r.Soft, Max: r.Hard})
		}
	}
	if spec.Linux != nil && spec.Linux.Seccomp != nil {
		f, err := harden.CompileOCISeccomp(spec.Linux.Seccomp)
		if err != nil {
			return nil, err
		}
		sc.seccomp = f
	}
	return sc, nil
}

// capMask turns capability names ("CAP_NET_RAW") into a mask. A name this
// kernel's libcap does not know is an error, not skipped: skipping one in
// the bounding set would be harmless, but the config is the container's
// and should be read as runc reads it.
func capMask(names []string) (uint64, error) {
	var m uint64
	for _, n := range names {
		v, err := cap.FromName(strings.ToLower(n))
		if err != nil {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		if v < 64 {
			m |= 1 << uint(v)
		}
	}
	return m, nil
}

// rlimitNames are the RLIMIT_* names of the OCI config's process.rlimits.
var rlimitNames = map[string]uint32{
	"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
	"RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
	"RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
	"RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

// runscCapsFor is the capabilities of a runsc exec process spec. The
// container policy without a mask leaves them out, which runsc reads as
// "those of the container" (its exec parity). Otherwise the Policy's
// capabilities are listed, within the container's bounding set from its
// OCI config when that is readable, never beyond it: a strict policy
// asking for one the container lacks is refused, a container policy's
// mask just narrows.
func runscCapsFor(r *Request) (*runscCaps, error) {
	p := r.Policy
	if p == nil || (!p.Strict && p.Capabilities == nil) {
		return nil, nil
	}
	caps := &runscCaps{Bounding: []string{}, Effective: []string{}, Inheritable: []string{}, Permitted: []string{}, Ambient: []string{}}
	bounding := ^uint64(0)
	if sc, err := specConfinementFor(r.Target); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	} else if sc != nil && sc.hasCaps {
		bounding = sc.caps.Bounding
	}
	for _, v := range p.Capabilities {
		name := strings.ToUpper(v.String())
		if !strings.HasPrefix(name, "CAP_") {
			return nil, fmt.Errorf("policy: capability %d has no name runsc knows", int(v))
		}
		if v >= 64 || bounding&(1<<uint(v)) == 0 {
			if p.Strict {
				return nil, fmt.Errorf("policy: capability %s cannot be kept: the container's bounding set lacks it (never looser than the container)", name)
			}
			continue
		}
		caps.Bounding = append(caps.Bounding, name)
		caps.Effective = append(caps.Effective, name)
		caps.Permitted = append(caps.Permitted, name)
	}
	return caps, nil
}
