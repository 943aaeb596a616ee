//go:build heavyafter

package heavy

// Importing nucleus (here only for its side effect) makes this package
// depend on nucleus/internal/launch, so Go initialises launch first, and a
// nucleus child is dispatched — and execs — before this package's init.
import _ "nucleus/attach"
