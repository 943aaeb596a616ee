// Package heavy stands for the costly package initialisation of a big
// embedding program (a cloud SDK building its tables, a template cache, a
// model loaded at init): its init spins for InitCost.
//
// Go initialises a program's packages one at a time, each after the
// packages it imports; among those ready, the one with the smallest import
// path goes first. nucleus dispatches its child during the initialisation
// of nucleus/internal/child, which imports only errors, strconv, syscall and
// unsafe and so is initialised before "time" and "os": a package that needs
// either (this one imports time) never runs in the child. Built with -tags
// heavyafter, it also imports nucleus/attach (heavy_after.go), the way
// that was needed when the dispatch came after most packages; both builds
// now cost the same per attach.
package heavy

import "time"

// InitCost is how long the initialisation of this package takes.
const InitCost = 50 * time.Millisecond

// Spun is how long init spun; 0 means init has not run.
var Spun time.Duration

func init() {
	start := time.Now()
	for time.Since(start) < InitCost {
	}
	Spun = time.Since(start)
}
