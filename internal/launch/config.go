package launch

import (
	"nucleus/harden"
	"nucleus/internal/child"
	"nucleus/internal/hardencore"
)

// The grandchild's config record is defined, encoded and decoded in
// nucleus/internal/child (child.Config, child.AppendConfig,
// child.DecodeConfig), so that both sides share one definition and the
// child decodes it without this package's imports.

// programBytes encodes a harden.Program in the config record's layout.
func programBytes(p *harden.Program) []byte {
	return child.ProgramBytes((*hardencore.Program)(p))
}
