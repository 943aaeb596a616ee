// Package heavy stands for the costly package initialisation of a big
// embedding program (a cloud SDK building its tables, a template cache, a
// model loaded at init): its init spins for InitCost.
//
// Go initialises a program's packages one at a time, each after the
// packages it imports; among those ready, the one with the smallest import
// path goes first. nucleus dispatches its child during the initialisation
// of nucleus/internal/launch, so the child pays for every package that
// Go initialises before that one. Built as is, this package imports only
// time and is ready long before launch: the child pays InitCost on every
// attach. Built with -tags heavyafter, it also imports nucleus/attach
// (heavy_after.go), which puts launch before it: the child never runs it.
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
