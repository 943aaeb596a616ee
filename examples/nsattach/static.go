//go:build netgo && osusergo

package main

// A release build of nsattach is linked statically, against musl:
//
//	CC=musl-gcc go build -tags netgo,osusergo ./examples/nsattach
//
// (Debian's musl-tools gives musl-gcc.) Without CC it links statically
// against glibc, which works too, but starts slower.
//
// Why static: nsattach re-executes itself (through a read-only view of its
// own binary) for every attach, so a dynamically linked build pays the
// dynamic loader twice per attach: once at its own start and once in the
// child that joins the container, where ld.so maps libc and resolves its
// symbols before the constructor runs (≈ 0.9 ms of a one-shot attach on
// the machine of the README's figures).
//
// Why musl: glibc's start-up, static or not, sizes the CPU caches for its
// string functions by walking CPUID's cache descriptors (leaves 2 and 4,
// some hundred CPUID instructions, each one a trap to the hypervisor in a
// VM), and the Go runtime's cgo start asks glibc for the main thread's
// stack bounds, which glibc finds by reading /proc/self/maps. musl does
// neither. Measured with interleaved whole-process runs of `nsattach --pid
// P /bin/true` (BenchmarkOneShot's static-* and musl-* metrics): ≈ 0.4 ms
// less than the glibc static build, in nsattach and again in its child.
// Nothing of nucleus's C needs glibc: the kernel ABI it speaks is written
// out in internal/hardencore/uapi.h, since musl does not search the
// kernel's headers.
//
// The two tags are the condition for a clean static link with glibc: they
// select the pure-Go user lookups (os/user, which archive/tar links) and
// DNS resolver (should package net ever be linked again: engine no longer
// needs it), so that nothing calls glibc's NSS functions (getpwnam_r,
// getaddrinfo, ...), which a static binary could only serve by loading the
// host's NSS modules at run time (the linker warns about exactly those).
// nsattach resolves no host names and no users through NSS: the
// container's users are read from its own /etc/passwd by the constructor.

// #cgo LDFLAGS: -static
import "C"
