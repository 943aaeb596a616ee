package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus/internal/proc"
	"nucleus/state"
)

// processSpec is the command's process description as the parent can
// compute it: what `runc exec` takes from the container's config, with the
// request's changes. The child adds HOME (when needHome) and resolves user
// inside the container.
type processSpec struct {
	env      []string
	needHome bool
	dir      string
	identity state.ProcessIdentity
	// user is the request's user spec for the child to resolve ("" when
	// the identity is final).
	user string
}

// path returns the PATH the child searches: the value of the environment's
// PATH entry.
func (s *processSpec) path() string {
	for _, e := range s.env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			return v
		}
	}
	return ""
}

// baseSpec is the container's own process description: environment,
// working directory and identity.
type baseSpec struct {
	env      []string
	dir      string
	identity state.ProcessIdentity
}

// containerBase returns the container's process description, the defaults
// of every command:
//   - from the OCI config (process.env, process.cwd, process.user) when the
//     state names a bundle whose config.json exists and may be read: what
//     runc exec uses;
//   - else, for a namespace target, from the target process itself: its
//     initial environment (/proc/PID/environ, bounded; the target controls
//     it, so it is parsed defensively) and its working directory as the
//     container sees it (/proc/PID/cwd; "/" when deleted), with the state's
//     identity. Only what the request does not override is read;
//   - a gVisor target without a readable config gets an empty environment
//     and "/": its host process is the sandbox supervisor, whose
//     environment and cwd are not the workload's.
//
// The caller must check afterwards, through its pidfd, that the target
// still lives: what was read by PID number was then the target's.
func (r *Request) containerBase() (*baseSpec, error) {
	st := r.Target
	b := &baseSpec{identity: st.Identity()}
	if st.BundlePath != "" {
		spec, err := bundleSpec(st.BundlePath)
		switch {
		case err == nil:
			if p := spec.Process; p != nil {
				b.env = append([]string(nil), p.Env...)
				b.dir = p.Cwd
				b.identity = state.ProcessIdentity{UID: p.User.UID, GID: p.User.GID}
				if len(p.User.AdditionalGids) > 0 {
					b.identity.AdditionalGIDs = append([]uint32(nil), p.User.AdditionalGids...)
				}
			}
			return b, nil
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
			// A bundle removed since, or one the caller may not read (a
			// rootless owner and a root-owned bundle): the live process
			// describes itself. A config that is there but malformed is
			// an error.
		default:
			return nil, fmt.Errorf("process spec: %w", err)
		}
	}
	if st.UsingGVisor {
		return b, nil
	}
	if !r.CleanEnv {
		env, err := proc.ReadEnviron(st.PID)
		if err != nil {
			return nil, fmt.Errorf("process spec: environment of pid %d (WithCleanEnv does without): %w", st.PID, err)
		}
		b.env = env
	}
	if r.Dir == "" {
		dir, err := proc.ReadCwd(st.PID)
		if err != nil {
			return nil, fmt.Errorf("process spec: working directory of pid %d (WithDir does without): %w", st.PID, err)
		}
		b.dir = dir
	}
	return b, nil
}

// processSpec merges the request into the container's process
// description, as `docker exec` does:
//   - environment: the container's (none with CleanEnv), then each entry of
//     Env replaces the container's entry of the same key or is appended;
//     PATH is added when none (runc's and Docker's default list), TERM
//     only for a terminal (TERM=xterm, as docker exec -t). Nothing else is
//     invented: HOSTNAME is in the container's environment when its engine
//     put it there (Docker, Podman do), as for runc exec;
//   - working directory: Dir, else the container's, else "/";
//   - identity: Identity, else User (resolved by the child), else the
//     container's. With another identity than the container's, the
//     container's HOME is dropped, so that the child puts in the new
//     identity's (docker exec -u keeps an image's ENV HOME; nucleus does
//     not, because a bare PID's environment nearly always has its own
//     user's HOME).
func (r *Request) processSpec() (*processSpec, error) {
	base, err := r.containerBase()
	if err != nil {
		return nil, err
	}
	s := &processSpec{identity: base.identity, dir: base.dir, user: r.User}
	if r.Identity != nil {
		s.identity = *r.Identity
	}
	if r.Dir != "" {
		s.dir = r.Dir
	}
	if s.dir == "" {
		s.dir = "/"
	} else if err := checkDir(s.dir); err != nil {
		return nil, fmt.Errorf("process spec: container's working directory: %w", err)
	}
	if !r.CleanEnv {
		for _, e := range base.env {
			if err := checkEnvEntry(e); err != nil {
				return nil, fmt.Errorf("process spec: container's environment: %w", err)
			}
		}
		s.env = base.env
		if r.Identity != nil || r.User != "" {
			// The container's HOME is its own user's: another identity
			// gets its own from the container's passwd (unless Env
			// gives one).
			s.env = dropEnv(s.env, "HOME")
		}
	}
	s.env = mergeEnv(s.env, r.Env)
	if !hasEnv(s.env, "PATH") {
		s.env = append(s.env, defaultPath)
	}
	if r.TTY && !hasEnv(s.env, "TERM") {
		s.env = append(s.env, "TERM=xterm")
	}
	s.needHome = !hasEnv(s.env, "HOME")
	return s, nil
}

// mergeEnv returns base with every entry of add replacing base's entries
// of the same key (the first in place, later ones dropped) or appended.
func mergeEnv(base, add []string) []string {
	out := append([]string(nil), base...)
	for _, e := range add {
		key, _, _ := strings.Cut(e, "=")
		replaced := false
		kept := out[:0]
		for _, o := range out {
			if k, _, _ := strings.Cut(o, "="); k == key {
				if replaced {
					continue
				}
				o, replaced = e, true
			}
			kept = append(kept, o)
		}
		out = kept
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

// dropEnv returns env without the entries of key.
func dropEnv(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// specCache keeps parsed config.json files: an orchestrator probes the
// same containers all day, and decoding a config costs tens of µs where
// a stat costs one. An entry is used only while the file's device, inode,
// size, modification and change times are those it was read with.
var specCache = struct {
	sync.Mutex
	m map[string]cachedSpec
}{m: make(map[string]cachedSpec)}

// maxCachedSpecs bounds the cache; past it, an arbitrary entry goes.
const maxCachedSpecs = 512

type cachedSpec struct {
	key  specKey
	spec *specs.Spec
}

type specKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime syscall.Timespec
}

func statSpec(p string) (specKey, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return specKey{}, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return specKey{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}, nil
}

// bundleSpec returns the bundle's config.json (state.ReadBundleSpec), from
// the cache when the file is unchanged. The result is shared: read only.
func bundleSpec(bundle string) (*specs.Spec, error) {
	p := filepath.Join(bundle, "config.json")
	key, err := statSpec(p)
	if err != nil {
		return nil, fmt.Errorf("bundle spec: %w", err)
	}
	specCache.Lock()
	c, ok := specCache.m[p]
	specCache.Unlock()
	if ok && c.key == key {
		return c.spec, nil
	}
	spec, err := state.ReadBundleSpec(bundle)
	if err != nil {
		return nil, err
	}
	// Cached under the key seen before the read: a change during the read
	// makes the next stat differ, and the file is read again.
	specCache.Lock()
	if len(specCache.m) >= maxCachedSpecs {
		for k := range specCache.m {
			delete(specCache.m, k)
			break
		}
	}
	specCache.m[p] = cachedSpec{key: key, spec: spec}
	specCache.Unlock()
	return spec, nil
}

// numericUser parses a "uid:gid" spec, the only form usable where the
// container's user database cannot be read; a name, or a uid without a
// gid (whose gid the database would give), is ErrUnsupported.
func numericUser(spec string) (state.ProcessIdentity, error) {
	usr, grp, ok := strings.Cut(spec, ":")
	uid, uerr := strconv.ParseUint(usr, 10, 31)
	gid, gerr := strconv.ParseUint(grp, 10, 31)
	if !ok || uerr != nil || gerr != nil {
		return state.ProcessIdentity{}, fmt.Errorf("user spec %q needs the container's user database; give uid:gid: %w", spec, state.ErrUnsupported)
	}
	return state.ProcessIdentity{UID: uint32(uid), GID: uint32(gid)}, nil
}
