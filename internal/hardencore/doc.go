// Package hardencore is the hardening sequence of nucleus/harden reduced to
// what a nucleus child needs to run it: the compiled Program's data, its
// wire record, and Apply.
//
// # One implementation, in C
//
// The steps themselves are in apply.c. The grandchild's constructor
// (nucleus/nsenter) runs them inside the container before any Go runtime
// exists there, then executes the command: a command's process never starts
// Go in the container, and a copy worker's Go runtime starts already
// hardened, so every one of its threads inherits the identity, capability
// sets, no_new_privs, Landlock domain and seccomp filters (the kernel copies
// them at clone). The Go API — (*Program).Apply, and through it
// nucleus/harden's Apply and its tests on the real kernel — calls the same C
// through cgo on the calling locked thread; every step is a raw
// single-thread system call (never glibc's set*id wrappers, which signal
// every thread of the process). Tables the Go side also needs (capability
// names, the file system rights each Landlock ABI handles) live in apply.c
// too, and the Go functions read them from there.
//
// # Why a package of its own
//
// nucleus/internal/child, dispatched from package initialisation in a copy
// worker, imports this package: Go initialises a package after everything
// it imports, so this one imports only runtime, strconv, syscall, unsafe and
// cgo's runtime, never "os", "fmt", "reflect", "time" or "strings"
// (TestHardencoreImports). nucleus/harden keeps the public API (Policy,
// Compile, Program, Apply, StepError) as a thin layer over it.
//
// Error texts are those harden always had ("harden: <step>: ..."): apply.c
// reports the step, a text and the errno, and StepError joins them.
package hardencore
