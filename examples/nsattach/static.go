//go:build netgo && osusergo

package main

// A release build of nsattach is linked statically, as runc's releases
// are:
//
//	go build -tags netgo,osusergo ./examples/nsattach
//
// nsattach re-executes itself (through a read-only view of its own binary)
// for every attach, so a dynamically linked build pays the dynamic loader
// twice per attach: once at its own start and once in the child that joins
// the container, where ld.so maps libc and resolves its symbols before the
// constructor runs. A static link skips both (≈ 0.9 ms of a one-shot
// attach on the machine the README's figures come from;
// BenchmarkOneShot's static-* metrics).
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
