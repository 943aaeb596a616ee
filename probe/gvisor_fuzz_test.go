package probe

import (
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseSandboxNetwork: a sandbox supervisor's command line (read only
// once the claim is verified, but parsed from bytes a process wrote). Only
// runsc's names are accepted; the network is runsc's default or the value
// of a --network flag before boot.
func FuzzParseSandboxNetwork(f *testing.F) {
	f.Add("runsc-sandbox\x00--network=host\x00boot\x00id")
	f.Add("runsc\x00-network\x00none\x00boot\x00--network=host\x00id")
	f.Add("sleep\x00--network=host")
	f.Fuzz(func(t *testing.T, cmdline string) {
		argv := strings.Split(cmdline, "\x00")
		network, ok := parseSandboxNetwork(argv)
		if !ok {
			require.Empty(t, network)
			base := path.Base(argv[0])
			require.False(t, base == "runsc" || base == "runsc-sandbox")
			return
		}
		if network == runscNetworkSandbox {
			return
		}
		end := len(argv)
		if i := slices.IndexFunc(argv[1:], func(a string) bool { return a == "boot" || a == "--" }); i >= 0 {
			end = i + 1
		}
		flags := argv[1:end]
		i := slices.IndexFunc(flags, func(a string) bool { return a == "--network="+network || a == "-network="+network })
		j := slices.IndexFunc(flags, func(a string) bool { return a == "--network" || a == "-network" })
		require.True(t, i >= 0 || j >= 0, "network %q comes from a --network flag before boot", network)
	})
}
