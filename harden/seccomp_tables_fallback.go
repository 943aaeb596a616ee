//go:build !amd64

package harden

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/elastic/go-seccomp-bpf/arch"

	"nucleus/harden/internal/bpfasm"
	"nucleus/harden/seccomppolicy"
)

// nativeTables builds the running architecture's tables once per process,
// from go-seccomp-bpf: only amd64 has them generated ahead of time.
var nativeTables = sync.OnceValues(func() (*archTables, error) {
	info, err := arch.GetInfo("")
	if err != nil || bpfasm.OCIArch(runtime.GOARCH) == "" {
		return nil, errNoTables
	}
	t := &archTables{audit: uint32(info.ID), oci: bpfasm.OCIArch(runtime.GOARCH)}
	for name, nr := range info.SyscallNames {
		t.syscalls = append(t.syscalls, syscallNr{name, nr})
		t.maxNr = max(t.maxNr, nr)
	}
	slices.SortFunc(t.syscalls, func(a, b syscallNr) int { return cmp.Compare(a.name, b.name) })
	if t.floor, err = seccomppolicy.Assemble(seccomppolicy.Default()); err != nil {
		return nil, fmt.Errorf("default seccomp profile: %w", err)
	}
	if t.strict, err = seccomppolicy.Assemble(seccomppolicy.StrictAdditions()); err != nil {
		return nil, fmt.Errorf("strict seccomp additions: %w", err)
	}
	return t, nil
})
