// Package hardencore is the hardening sequence of nucleus/harden reduced to
// what the re-executed child needs to run it: the compiled Program's data
// and Apply, written against package syscall alone.
//
// # Why a package of its own
//
// The child's Go side is dispatched from package initialisation
// (nucleus/internal/child). Go initialises a package after everything it
// imports, and among the packages ready at a step, the first by import
// path. A dispatcher whose imports are only low-level packages is ready
// long before "os", "fmt", "reflect", "time" or any third-party package of
// the embedding program, and so runs before their initialisation (≈ 0.5 ms
// per attach, and an embedder's costly init no longer runs in the child at
// all). Everything the child runs must therefore avoid those imports (and
// package strings, which imports unicode, initialised after os): this
// package imports only runtime, strconv, syscall and unsafe.
// nucleus/harden keeps the public API (Policy, Compile, Program, Apply,
// StepError) as a thin layer over it, and the test TestHardencoreImports
// keeps the import list short.
//
// Error texts are those harden always had ("harden: <step>: ..."), built
// without fmt.
package hardencore
