// Package child defines the config record the parent
// (nucleus/internal/launch) sends to a nucleus grandchild, and is the Go
// side of the copy workers. The grandchild's constructor (nucleus/nsenter,
// child.c) reads the record inside every namespace and cgroup of the
// target, resolves the user, looks the command up in the container's PATH,
// applies the hardening sequence (nucleus/internal/hardencore's apply.c)
// and executes the command before any Go runtime starts in the container.
// Only a copy worker returns into Go, already hardened, and its init runs
// it; it never returns into the embedding program.
//
// # Why dispatch from here
//
// Go initialises a package after the packages it imports and, among those
// ready at a step, the first by import path. This package imports only
// errors, strconv, syscall, unsafe and hardencore (and "C"), so it
// is ready long before "os", "time", "reflect", "fmt" and every third-party
// package of the embedding binary: its init runs before theirs, and the
// child no longer pays for them (≈ 0.5 ms per attach for nucleus's own
// dependencies; an embedder's 50 ms package initialisation no longer runs
// in the child at all). TestChildImports keeps the import list short; a
// package added to it must be as light.
//
// The dispatch condition is the constructor's flag nucleus_nsenter_joined,
// set only in a grandchild once every requested namespace was joined. A
// program built without cgo has no constructor and no flag: it never
// dispatches here, and nucleus/internal/launch refuses to start anything.
//
// The wire messages are those of nucleus/nsenter (MsgError, MsgExecError,
// 256-byte Message), repeated here because nsenter imports fmt; a test of
// nucleus/internal/launch keeps the two in step.
package child
