package launch

import (
	"bytes"
	"debug/elf"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readELF agrees with debug/elf on real executables (dynamic, static,
// this test binary) and refuses malformed headers without panicking.
func TestReadELF(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	checked := 0
	for _, path := range []string{self, "/bin/ls", "/bin/busybox", "/usr/lib/x86_64-linux-gnu/libc.so.6"} {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		defer f.Close()
		want, err := elf.NewFile(f)
		require.NoError(t, err, path)
		got, err := readELF(f)
		require.NoError(t, err, path)
		assert.Equal(t, uint16(want.Type), got.typ, path)
		assert.Equal(t, uint16(want.Machine), got.machine, path)
		var interp *elf.Prog
		for _, p := range want.Progs {
			if p.Type == elf.PT_INTERP {
				interp = p
				break
			}
		}
		assert.Equal(t, interp != nil, got.hasInterp, path)
		if interp != nil {
			assert.Equal(t, interp.Off, got.interpOff, path)
			assert.Equal(t, interp.Filesz, got.interpN, path)
		}
		checked++
	}
	require.GreaterOrEqual(t, checked, 2)

	b, err := os.ReadFile(self)
	require.NoError(t, err)
	hugeTable := bytes.Clone(b[:64])
	hugeTable[56], hugeTable[57] = 0xff, 0xff // e_phnum PN_XNUM
	badClass := bytes.Clone(b[:64])
	badClass[4] = 9
	tinyEntries := bytes.Clone(b[:64])
	tinyEntries[54], tinyEntries[55] = 8, 0 // e_phentsize 8
	giantEntries := bytes.Clone(b[:64])
	giantEntries[54], giantEntries[55] = 0xff, 0xff // e_phentsize 65535
	giantEntries[56], giantEntries[57] = 0xfe, 0xff // e_phnum 65534: a 4 GiB table
	for name, in := range map[string][]byte{
		"empty": nil, "short": b[:10], "not ELF": []byte("#!/bin/sh\nexit 0\n"),
		"PN_XNUM": hugeTable, "class": badClass, "phentsize": tinyEntries, "table beyond the file": b[:64],
		"4 GiB table": giantEntries,
	} {
		_, err := readELF(bytes.NewReader(in))
		assert.Error(t, err, name)
	}
	// Refused from its header, before anything is allocated or read.
	_, err = readELF(bytes.NewReader(giantEntries))
	assert.ErrorContains(t, err, "bad program header table")
}
