package launch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
)

// Why not debug/elf: the check needs four fields of the ELF header and the
// program headers' types, and debug/elf brings debug/dwarf, compress/zlib
// and internal/zstd with their package initialisation (≈ 25 µs here) into
// every program that attaches, used or not.

// ELF constants (elf(5)).
const (
	elfClass32  = 1
	elfClass64  = 2
	elfData2LE  = 1
	elfData2BE  = 2
	elfTypeExec = 2 // ET_EXEC
	elfTypeDyn  = 3 // ET_DYN
	elfPTInterp = 3 // PT_INTERP
	// elfMaxPhdrs bounds the program headers read: PN_XNUM (0xffff)
	// moves the real count elsewhere, which no executable needs.
	elfMaxPhdrs = 0xfffe
	// elfMaxPhdrTable bounds the table's bytes, so that a header claiming
	// 0xfffe entries of 0xffff bytes each is not a 4 GiB allocation;
	// real executables have a few dozen entries of 56 bytes.
	elfMaxPhdrTable = 1 << 20
)

// elfMachine is the ELF machine (e_machine) of the running architecture.
var elfMachine = map[string]uint16{
	"amd64": 62, "arm64": 183, "386": 3, "arm": 40,
	"riscv64": 243, "ppc64le": 21, "s390x": 22, "loong64": 258,
}[runtime.GOARCH]

// elfInfo is what checkHostBinary needs of an ELF file.
type elfInfo struct {
	typ, machine uint16
	// interp is the PT_INTERP segment's offset and size, when there is one.
	hasInterp          bool
	interpOff, interpN uint64
}

// readELF parses the ELF header and program header table of r.
func readELF(r io.ReaderAt) (elfInfo, error) {
	var info elfInfo
	var h [64]byte
	n, err := r.ReadAt(h[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return info, fmt.Errorf("read ELF header: %w", err)
	}
	if n < 6 || string(h[:4]) != "\x7fELF" {
		return info, errors.New("bad magic number")
	}
	var bo binary.ByteOrder
	switch h[5] {
	case elfData2LE:
		bo = binary.LittleEndian
	case elfData2BE:
		bo = binary.BigEndian
	default:
		return info, fmt.Errorf("unknown ELF data encoding %d", h[5])
	}
	info.typ, info.machine = bo.Uint16(h[16:]), bo.Uint16(h[18:])
	var phoff uint64
	var phentsize, phnum, minEnt int
	if (h[4] == elfClass64 && n < 64) || (h[4] == elfClass32 && n < 52) {
		return info, fmt.Errorf("ELF header cut short (%d bytes)", n)
	}
	switch h[4] {
	case elfClass64:
		phoff, phentsize, phnum, minEnt = bo.Uint64(h[32:]), int(bo.Uint16(h[54:])), int(bo.Uint16(h[56:])), 56
	case elfClass32:
		phoff, phentsize, phnum, minEnt = uint64(bo.Uint32(h[28:])), int(bo.Uint16(h[42:])), int(bo.Uint16(h[44:])), 32
	default:
		return info, fmt.Errorf("unknown ELF class %d", h[4])
	}
	if phnum == 0 {
		return info, nil
	}
	if phnum > elfMaxPhdrs || phentsize < minEnt || phnum*phentsize > elfMaxPhdrTable {
		return info, fmt.Errorf("bad program header table (%d entries of %d bytes)", phnum, phentsize)
	}
	tab := make([]byte, phnum*phentsize)
	if _, err := r.ReadAt(tab, int64(phoff)); err != nil {
		return info, fmt.Errorf("read program headers: %w", err)
	}
	for i := 0; i < phnum; i++ {
		p := tab[i*phentsize:]
		if bo.Uint32(p) != elfPTInterp {
			continue
		}
		info.hasInterp = true
		if h[4] == elfClass64 {
			info.interpOff, info.interpN = bo.Uint64(p[8:]), bo.Uint64(p[32:])
		} else {
			info.interpOff, info.interpN = uint64(bo.Uint32(p[4:])), uint64(bo.Uint32(p[16:]))
		}
		break
	}
	return info, nil
}
