package child

import (
	"errors"
	"strconv"

	"nucleus/internal/hardencore"
)

// Config is what the grandchild's Go side needs, sent after the go-ahead
// byte as a length-prefixed binary record: the parent encodes it
// (AppendConfig, ProgramBytes), the child decodes it (DecodeConfig), both
// from the definitions in this file.
//
// Why not JSON: the grandchild decodes it on the critical path of every
// command, and encoding/json's reflection over the few hundred seccomp
// instructions of the default profile took ≈ 0.75 ms there, plus ≈ 0.1–0.4 ms
// to encode in the parent; it would also make the child wait for reflect's
// and encoding/json's initialisation. The binary form costs microseconds
// both ways, and the default Program's part is encoded once per process.
type Config struct {
	Args []string
	// Env is the command's whole environment but HOME.
	Env []string
	// NeedHome: Env has no HOME; the child adds the identity's home from
	// the container's /etc/passwd.
	NeedHome bool
	Dir      string
	Identity hardencore.Identity
	// Mode is what the grandchild does once hardened (mode.go): execute
	// Args[0] from the container, execute the host binary by fd, or run a
	// copy worker.
	Mode Mode
	// User, when not empty, is a user spec ("name", "uid", "name:group",
	// "uid:gid", …) the child resolves in the container's /etc/passwd and
	// /etc/group; it replaces Identity (resolveUser, user.go).
	User    string
	Program *hardencore.Program
}

// ConfigVersion changes with the layout below. Parent and child are the same
// binary, so it only catches a record that is not one of ours.
const ConfigVersion = 4

// MaxConfig bounds what the child reads from the parent.
const MaxConfig = 1 << 20

// The layout, native-endian: u32 version; strings(args); strings(env);
// u8 need_home; string(dir); u32 uid; u32 gid; u32s(additional gids);
// u8 mode; string(user); program (hardencore's wire.go, decoded by its
// apply.c). A string is u32 length + bytes, a list is u32 count + items.
// nsenter's child.c decodes the record in the grandchild.

var (
	littleEndian = hardencore.LittleEndian
	putU32       = hardencore.PutU32
	getU32       = hardencore.GetU32
	appendU32    = hardencore.AppendU32
	appendString = hardencore.AppendString
	appendBool   = hardencore.AppendBool
)

// PutConfigSize writes the record's length prefix (a u32) into b[0:4].
func PutConfigSize(b []byte, size uint32) { putU32(b, size) }

// AppendConfig appends the record for c to b. prog is the encoding of
// c.Program (ProgramBytes).
func AppendConfig(b []byte, c *Config, prog []byte) []byte {
	b = appendU32(b, ConfigVersion)
	b = appendStrings(b, c.Args)
	b = appendStrings(b, c.Env)
	b = appendBool(b, c.NeedHome)
	b = appendString(b, c.Dir)
	b = appendU32(b, c.Identity.UID)
	b = appendU32(b, c.Identity.GID)
	b = appendU32(b, uint32(len(c.Identity.AdditionalGIDs)))
	for _, g := range c.Identity.AdditionalGIDs {
		b = appendU32(b, g)
	}
	b = append(b, byte(c.Mode))
	b = appendString(b, c.User)
	return append(b, prog...)
}

// ProgramBytes encodes a Program in its wire layout (hardencore.AppendProgram).
func ProgramBytes(p *hardencore.Program) []byte { return hardencore.AppendProgram(nil, p) }

func appendStrings(b []byte, l []string) []byte {
	b = appendU32(b, uint32(len(l)))
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

// ErrShortConfig is the error for a record cut short, or whose counts
// promise more than it holds.
var ErrShortConfig = errors.New("config: truncated record")

// configReader decodes the record; the first error sticks.
type configReader struct {
	b   []byte
	err error
}

func (r *configReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = ErrShortConfig
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *configReader) u8() byte {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *configReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return getU32(v)
	}
	return 0
}

func (r *configReader) bool() bool {
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	default:
		if r.err == nil {
			r.err = errors.New("config: bad boolean")
		}
		return false
	}
}

// count reads a list length and checks that the rest of the record can hold
// that many items of at least min bytes, so a bad count cannot make the
// child allocate more than the record's size.
func (r *configReader) count(min int) int {
	n := r.u32()
	if r.err == nil && (n > 1<<31-1 || int(n) > len(r.b)/min) {
		r.err = ErrShortConfig
		return 0
	}
	return int(n)
}

func (r *configReader) string() string {
	return string(r.take(int(r.u32())))
}

func (r *configReader) strings() []string {
	n := r.count(4)
	if n == 0 {
		return nil
	}
	l := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		l = append(l, r.string())
	}
	return l
}

// DecodeConfig is AppendConfig's inverse. It refuses a record with bytes
// left over, as well as a truncated one.
func DecodeConfig(b []byte) (*Config, error) {
	r := &configReader{b: b}
	if v := r.u32(); r.err == nil && v != ConfigVersion {
		return nil, errors.New("config: version " + strconv.FormatUint(uint64(v), 10) + ", want " + strconv.Itoa(ConfigVersion))
	}
	c := &Config{}
	c.Args = r.strings()
	c.Env = r.strings()
	c.NeedHome = r.bool()
	c.Dir = r.string()
	c.Identity.UID = r.u32()
	c.Identity.GID = r.u32()
	if n := r.count(4); n > 0 {
		c.Identity.AdditionalGIDs = make([]uint32, n)
		for i := range c.Identity.AdditionalGIDs {
			c.Identity.AdditionalGIDs[i] = r.u32()
		}
	}
	c.Mode = Mode(r.u8())
	c.User = r.string()
	if r.err != nil {
		return nil, r.err
	}
	// The Program with the constructor's own decoder (hardencore's
	// apply.c): one decoder for what the grandchild applies.
	p, n, err := hardencore.DecodeProgram(r.b)
	switch {
	case err == hardencore.ErrShortProgram:
		return nil, ErrShortConfig
	case err != nil:
		return nil, errors.New("config: " + err.Error())
	}
	c.Program, r.b = p, r.b[n:]
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.New("config: " + strconv.Itoa(len(r.b)) + " bytes after the record")
	}
	return c, nil
}
