package child

import "errors"

// The copy workers (copyto.go, copyfrom.go) and the parent
// (nucleus/internal/launch, copy.go) exchange a stream of records over the
// worker's stdin and stdout: a fixed header, the name and the link target,
// and for a regular file its data in chunks (u32 length + bytes, a zero
// length ends the data, AbortChunk cuts it short before an error record). The parent turns the records into a tar stream and
// back; the worker, which runs inside the container with this package's
// few imports, never sees tar.
//
// Header, native-endian, RecordHeaderSize bytes:
//
//	0 u8 kind; 4 u32 mode (st_mode); 8 u32 uid; 12 u32 gid; 16 u64 size;
//	24 i64 mtime seconds; 32 u32 mtime nanoseconds; 36 u32 name length;
//	40 u32 link length; 44 u32 errno; 48 u64 rdev
//
// A stream ends with KindEnd (success) or KindError (Name is the failed step
// and path, Errno its errno).

// The kinds of records.
const (
	KindDir      = 'd'
	KindFile     = 'f'
	KindSymlink  = 'l' // Link is the target, never followed by the workers
	KindHardlink = 'h' // Link is an earlier record's Name
	KindFifo     = 'p'
	KindChar     = 'c'
	KindBlock    = 'b'
	KindEnd      = 'e'
	KindError    = 'x'
)

// RecordHeaderSize is the size of a record's fixed header.
const RecordHeaderSize = 56

// MaxRecordName bounds a record's name and link target (PATH_MAX).
const MaxRecordName = 4096

// CopyChunk is the largest data chunk of a file record.
const CopyChunk = 128 << 10

// AbortChunk, as a data chunk's length, says that the file's data ends
// early because of a failure; the error record follows.
const AbortChunk = 0xffffffff

// Record is one entry of a copy stream.
type Record struct {
	Kind      byte
	Mode      uint32 // st_mode: type and permission bits
	UID, GID  uint32
	Size      uint64 // a regular file's size, which its data chunks total
	Mtime     int64
	MtimeNsec uint32
	Name      string // relative to the copy's root, '/'-separated
	Link      string
	Errno     uint32
	Rdev      uint64
}

// AppendRecord appends r's header, name and link to b.
func AppendRecord(b []byte, r *Record) []byte {
	var h [RecordHeaderSize]byte
	h[0] = r.Kind
	putU32(h[4:], r.Mode)
	putU32(h[8:], r.UID)
	putU32(h[12:], r.GID)
	putU64(h[16:], r.Size)
	putU64(h[24:], uint64(r.Mtime))
	putU32(h[32:], r.MtimeNsec)
	putU32(h[36:], uint32(len(r.Name)))
	putU32(h[40:], uint32(len(r.Link)))
	putU32(h[44:], r.Errno)
	putU64(h[48:], r.Rdev)
	b = append(b, h[:]...)
	b = append(b, r.Name...)
	return append(b, r.Link...)
}

// ParseRecordHeader decodes a header; nameLen and linkLen are the lengths
// of the name and link that follow it.
func ParseRecordHeader(h []byte) (r Record, nameLen, linkLen int, err error) {
	_ = h[RecordHeaderSize-1]
	r = Record{Kind: h[0], Mode: getU32(h[4:]), UID: getU32(h[8:]), GID: getU32(h[12:]),
		Size: getU64(h[16:]), Mtime: int64(getU64(h[24:])), MtimeNsec: getU32(h[32:]),
		Errno: getU32(h[44:]), Rdev: getU64(h[48:])}
	nameLen, linkLen = int(getU32(h[36:])), int(getU32(h[40:]))
	if nameLen > MaxRecordName || linkLen > MaxRecordName || nameLen < 0 || linkLen < 0 {
		return r, 0, 0, errRecordName
	}
	return r, nameLen, linkLen, nil
}

var errRecordName = errors.New("copy: record name or link longer than 4096 bytes")

func putU64(b []byte, v uint64) {
	if littleEndian {
		putU32(b, uint32(v))
		putU32(b[4:], uint32(v>>32))
	} else {
		putU32(b, uint32(v>>32))
		putU32(b[4:], uint32(v))
	}
}

func getU64(b []byte) uint64 {
	if littleEndian {
		return uint64(getU32(b)) | uint64(getU32(b[4:]))<<32
	}
	return uint64(getU32(b))<<32 | uint64(getU32(b[4:]))
}

// PutChunkSize writes a data chunk's length prefix into b[0:4].
func PutChunkSize(b []byte, n uint32) { putU32(b, n) }

// ChunkSize reads a data chunk's length prefix.
func ChunkSize(b []byte) uint32 { return getU32(b) }

// CheckRecordName refuses a name that is empty, absolute, or has an empty,
// "." or ".." element (the lone name "." is the copy's root itself): the
// worker creates every entry beneath its root and nowhere else.
func CheckRecordName(name string) bool {
	if name == "." {
		return true
	}
	if name == "" || name[0] == '/' || containsByte(name, 0) {
		return false
	}
	for _, el := range split(name, '/') {
		if el == "" || el == "." || el == ".." {
			return false
		}
	}
	return true
}
