package launch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"nucleus/harden"
	"nucleus/state"
)

// childConfig is what the grandchild's Go side needs, sent after the
// go-ahead byte as a length-prefixed binary record (encodeConfig).
//
// Why not JSON: the grandchild decodes it on the critical path of every
// command, and encoding/json's reflection over the few hundred seccomp
// instructions of the default profile took ≈ 0.75 ms there, plus ≈ 0.1–0.4 ms
// to encode in the parent. The binary form costs microseconds both ways, and
// the default Program's part is encoded once per process (programBytes).
type childConfig struct {
	Args     []string
	Env      []string
	NeedHome bool
	Dir      string
	Identity state.ProcessIdentity
	Program  *harden.Program
}

// configVersion changes with the layout below. Parent and child are the same
// binary, so it only catches a record that is not one of ours.
const configVersion = 1

// The layout, native-endian: u32 version; strings(args); strings(env);
// u8 need_home; string(dir); u32 uid; u32 gid; u32s(additional gids);
// program. A string is u32 length + bytes, a list is u32 count + items.
// Program: u64 keep_caps; u32 count + count × (u16 code, u8 jt, u8 jf, u32 k);
// u32 count + count × (string path, u64 access); u8 landlock_best_effort.

// encodeConfig appends the record for c to b. prog is the encoding of
// c.Program (programBytes), made once for the default policy.
func encodeConfig(b []byte, c *childConfig, prog []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, configVersion)
	b = appendStrings(b, c.Args)
	b = appendStrings(b, c.Env)
	b = appendBool(b, c.NeedHome)
	b = appendString(b, c.Dir)
	b = binary.NativeEndian.AppendUint32(b, c.Identity.UID)
	b = binary.NativeEndian.AppendUint32(b, c.Identity.GID)
	b = binary.NativeEndian.AppendUint32(b, uint32(len(c.Identity.AdditionalGIDs)))
	for _, g := range c.Identity.AdditionalGIDs {
		b = binary.NativeEndian.AppendUint32(b, g)
	}
	return append(b, prog...)
}

// programBytes encodes a harden.Program in the layout above.
func programBytes(p *harden.Program) []byte {
	b := make([]byte, 0, 8+4+8*len(p.Seccomp)+4+32*len(p.Landlock)+1)
	b = binary.NativeEndian.AppendUint64(b, p.KeepCaps)
	b = binary.NativeEndian.AppendUint32(b, uint32(len(p.Seccomp)))
	for _, f := range p.Seccomp {
		b = binary.NativeEndian.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = binary.NativeEndian.AppendUint32(b, f.K)
	}
	b = binary.NativeEndian.AppendUint32(b, uint32(len(p.Landlock)))
	for _, r := range p.Landlock {
		b = appendString(b, r.Path)
		b = binary.NativeEndian.AppendUint64(b, r.Access)
	}
	return appendBool(b, p.LandlockBestEffort)
}

func appendString(b []byte, s string) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, l []string) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(len(l)))
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

var errShortConfig = errors.New("config: truncated record")

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
		r.err = errShortConfig
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

func (r *configReader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.NativeEndian.Uint16(v)
	}
	return 0
}

func (r *configReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.NativeEndian.Uint32(v)
	}
	return 0
}

func (r *configReader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.NativeEndian.Uint64(v)
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
	if r.err == nil && (n > math.MaxInt32 || int(n) > len(r.b)/min) {
		r.err = errShortConfig
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

// decodeConfig is encodeConfig's inverse. It refuses a record with bytes
// left over, as well as a truncated one.
func decodeConfig(b []byte) (*childConfig, error) {
	r := &configReader{b: b}
	if v := r.u32(); r.err == nil && v != configVersion {
		return nil, fmt.Errorf("config: version %d, want %d", v, configVersion)
	}
	c := &childConfig{Program: &harden.Program{}}
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
	p := c.Program
	p.KeepCaps = r.u64()
	if n := r.count(8); n > 0 {
		p.Seccomp = make([]harden.SockFilter, n)
		for i := range p.Seccomp {
			f := &p.Seccomp[i]
			f.Code = r.u16()
			f.Jt = r.u8()
			f.Jf = r.u8()
			f.K = r.u32()
		}
	}
	if n := r.count(12); n > 0 {
		p.Landlock = make([]harden.LandlockRule, n)
		for i := range p.Landlock {
			p.Landlock[i].Path = r.string()
			p.Landlock[i].Access = r.u64()
		}
	}
	p.LandlockBestEffort = r.bool()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("config: %d bytes after the record", len(r.b))
	}
	return c, nil
}
