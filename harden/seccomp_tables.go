package harden

import (
	"errors"
	"runtime"
	"sync"
)

// archTables is what harden knows of the running architecture's system
// calls: the numbers an OCI profile's names stand for, and the default
// floor and the strict policy's additions already assembled. On amd64 they
// are generated source (seccomp_tables_amd64.go, made by
// nucleus/harden/seccomppolicy at go:generate time), so that attaching
// costs neither go-seccomp-bpf's package initialisation (map literals for
// five architectures, ≈ 0.25 ms per process) nor an assembly of the
// default policy (≈ 0.4 ms); other architectures assemble them once per
// process (seccomp_tables_fallback.go).
type archTables struct {
	audit    uint32      // the AUDIT_ARCH_* value seccomp_data.arch holds for native calls
	oci      string      // the SCMP_ARCH_* name of the architecture
	maxNr    int         // the highest syscall number go-seccomp-bpf's table knows
	syscalls []syscallNr // every syscall of the table, sorted by name
	floor    []SockFilter
	strict   []SockFilter

	// byName indexes syscalls, built on first use rather than as a map
	// literal (which every process would pay at init): a container's
	// profile names some 350 calls, which a map finds about four times
	// faster than a binary search of the names.
	indexOnce sync.Once
	byName    map[string]int
}

// syscallNr is a system call's name and number.
type syscallNr struct {
	name string
	nr   int
}

// number returns the number of the syscall called name, if the table has
// it.
func (t *archTables) number(name string) (int, bool) {
	t.indexOnce.Do(func() {
		t.byName = make(map[string]int, len(t.syscalls))
		for _, s := range t.syscalls {
			t.byName[s.name] = s.nr
		}
	})
	nr, ok := t.byName[name]
	return nr, ok
}

// errNoTables is the error of an architecture nucleus has no seccomp
// tables for (go-seccomp-bpf has none either).
var errNoTables = errors.New("no seccomp syscall table for GOARCH " + runtime.GOARCH)
