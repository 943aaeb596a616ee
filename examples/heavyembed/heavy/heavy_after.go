//go:build heavyafter

package heavy

// Importing nucleus (here only for its side effect) makes this package
// depend on nucleus/internal/child, so Go initialises it first, and a
// nucleus child is dispatched — and execs — before this package's init,
// whatever this package imports.
import _ "nucleus/attach"
