// Package oneshot makes the one attach of a program that attaches once and
// exits — a command-line tool, a hook, a short-lived job — start sooner.
// Import it for its effect:
//
//	import _ "nucleus/attach/oneshot"
//
// It changes how the program starts, before its Go runtime exists
// (nucleus/nsenter's oneshot.c, from the constructor every nucleus program
// has):
//
//   - The executable view is made on a thread of its own while the runtime
//     starts. A child is executed from a read-only view of the program's
//     own binary (CVE-2019-5736; nucleus/internal/launch's ExeOverlay), and
//     making it waits for two RCU grace periods in the kernel, 0.1–0.3 ms on
//     a small VM: once for a long-lived program, on the path of the only
//     attach for a one-shot one.
//   - The runtime starts with one P (GOMAXPROCS 1), as if GOMAXPROCS=1 were
//     in the environment: the main thread is held on the CPU it is on until
//     the runtime has read its affinity, and this package's init gives
//     every thread the affinity the program started with back. A P per CPU
//     makes the runtime wake and spin a thread for every goroutine made
//     ready during its start, and costs a stop of the world to drop later.
//     runtime.NumCPU then reports 1; a program that wants more Ps calls
//     runtime.GOMAXPROCS, and a GOMAXPROCS in the environment is honoured
//     (nothing is held then).
//
// Measured on the two-core VM of the README's figures: ≈ 0.15–0.2 ms of a
// whole `nsattach --pid P /bin/true` (interleaved runs against a build
// without it). The cost, for a program that then attaches to nothing
// (prints its usage, lists containers): a detached mount made and dropped,
// which its exit waits for (`nsattach --help`: 1.90 → 1.97 ms). A
// long-lived program gains nothing from it and should not import it.
package oneshot
