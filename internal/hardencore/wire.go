package hardencore

import "unsafe"

// The wire record of a Program, native-endian (parent and child are the
// same binary): 5 × u64 capability sets (bounding, permitted, effective,
// inheritable, ambient); u8 no_new_privs; u8 strict; filter(floor);
// u32 count + count × filter(stacked); u8 landlock present; u32 count +
// count × (string path, u64 access); u8 landlock_best_effort; u32 count +
// count × (u32 resource, u64 cur, u64 max); string lsm attr; string lsm
// value. A string is u32 length + bytes; a filter is u32 count + count ×
// (u16 code, u8 jt, u8 jf, u32 k). apply.c decodes it
// (nucleus_decode_program): the launch engine sends it to the
// constructor inside the child's config record, and Apply passes it to
// the same decoder through cgo.

// ErrShortProgram is DecodeProgram's error for a record cut short, or whose
// counts promise more than it holds.
var ErrShortProgram = textError("truncated record")

// LittleEndian is the byte order of this machine, which is the wire's.
var LittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// PutU32 writes v into b[0:4] in the wire's byte order.
func PutU32(b []byte, v uint32) {
	_ = b[3]
	if LittleEndian {
		b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	} else {
		b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
}

// GetU32 reads b[0:4] in the wire's byte order.
func GetU32(b []byte) uint32 {
	_ = b[3]
	if LittleEndian {
		return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	}
	return uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
}

// AppendU16 appends v in the wire's byte order.
func AppendU16(b []byte, v uint16) []byte {
	if LittleEndian {
		return append(b, byte(v), byte(v>>8))
	}
	return append(b, byte(v>>8), byte(v))
}

// AppendU32 appends v in the wire's byte order.
func AppendU32(b []byte, v uint32) []byte {
	var w [4]byte
	PutU32(w[:], v)
	return append(b, w[:]...)
}

// AppendU64 appends v in the wire's byte order.
func AppendU64(b []byte, v uint64) []byte {
	if LittleEndian {
		return AppendU32(AppendU32(b, uint32(v)), uint32(v>>32))
	}
	return AppendU32(AppendU32(b, uint32(v>>32)), uint32(v))
}

// AppendString appends a u32 length and the bytes of s.
func AppendString(b []byte, s string) []byte {
	b = AppendU32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendBool appends one byte, 1 or 0.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendProgram appends the wire record of p to b.
func AppendProgram(b []byte, p *Program) []byte {
	n := 5*8 + 2 + 4 + 8*len(p.Seccomp) + 4 + 1 + 4 + 32*len(p.Landlock) + 1 + 4 + 20*len(p.Rlimits) + 8 + len(p.LSMExec.Attr) + len(p.LSMExec.Value)
	for _, f := range p.SeccompStack {
		n += 4 + 8*len(f)
	}
	if cap(b)-len(b) < n {
		b = append(make([]byte, 0, len(b)+n), b...)
	}
	c := p.Caps
	for _, v := range [...]uint64{c.Bounding, c.Permitted, c.Effective, c.Inheritable, c.Ambient} {
		b = AppendU64(b, v)
	}
	b = AppendBool(b, p.NoNewPrivs)
	b = AppendBool(b, p.Strict)
	b = appendFilter(b, p.Seccomp)
	b = AppendU32(b, uint32(len(p.SeccompStack)))
	for _, f := range p.SeccompStack {
		b = appendFilter(b, f)
	}
	b = AppendBool(b, p.Landlock != nil)
	b = AppendU32(b, uint32(len(p.Landlock)))
	for _, r := range p.Landlock {
		b = AppendString(b, r.Path)
		b = AppendU64(b, r.Access)
	}
	b = AppendBool(b, p.LandlockBestEffort)
	b = AppendU32(b, uint32(len(p.Rlimits)))
	for _, r := range p.Rlimits {
		b = AppendU32(b, r.Resource)
		b = AppendU64(b, r.Cur)
		b = AppendU64(b, r.Max)
	}
	b = AppendString(b, p.LSMExec.Attr)
	return AppendString(b, p.LSMExec.Value)
}

func appendFilter(b []byte, f []SockFilter) []byte {
	b = AppendU32(b, uint32(len(f)))
	for _, in := range f {
		b = AppendU16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = AppendU32(b, in.K)
	}
	return b
}
