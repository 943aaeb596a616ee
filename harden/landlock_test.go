package harden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/internal/hardencore"
	"nucleus/internal/testutil"
	"nucleus/state"
)

func requireLandlock(t testing.TB) {
	t.Helper()
	if _, err := LandlockABI(); err != nil {
		t.Skipf("the kernel has no Landlock: %v", err)
	}
}

// The default rules, checked from inside: writing in /tmp works, writing
// under /etc is refused by Landlock (EACCES), a binary copied into /tmp
// cannot be executed, /dev/null stays writable, /etc and /proc readable.
func TestLandlockDefaultRules(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	requireLandlock(t)
	tmp := t.TempDir() // under /tmp
	etcFile := "/etc/nucleus-harden-landlock-test"
	os.Remove(etcFile)
	t.Cleanup(func() { os.Remove(etcFile) })
	script := `
touch ` + tmp + `/x && echo touch-ok
echo data > ` + tmp + `/y && cat ` + tmp + `/y
mkdir ` + tmp + `/d && mv ` + tmp + `/y ` + tmp + `/d/z && echo mv-ok
echo x > ` + etcFile + ` || echo etc-write-refused
cp /bin/busybox ` + tmp + `/bb && echo copied
` + tmp + `/bb true; echo exec-tmp=$?
echo x >/dev/null && echo devnull-ok
head -c 4 /dev/zero | wc -c
grep -q root /etc/passwd && echo etc-read-ok
grep -q NoNewPrivs /proc/self/status && echo proc-read-ok
ls / >/dev/null && echo list-root-ok
`
	r := runChild(t, childSpec{
		Program:  compile(t, Policy{}),
		Identity: state.ProcessIdentity{UID: 0, GID: 0}, // root: only Landlock can refuse
		Argv:     []string{busybox, "sh", "-c", script},
	}, childOpts{})
	require.Equal(t, 0, r.Code, r.Stderr)
	out, errs := r.Stdout, r.Stderr
	assert.Contains(t, out, "touch-ok\n")
	assert.Contains(t, out, "data\n")
	assert.Contains(t, out, "mv-ok\n")
	assert.Contains(t, out, "etc-write-refused\n")
	assert.Contains(t, errs, etcFile+": Permission denied")
	assert.NoFileExists(t, etcFile)
	assert.Contains(t, out, "copied\n")
	assert.Contains(t, out, "exec-tmp=126\n", "a file written to /tmp must not be executable")
	assert.Contains(t, errs, "/bb: Permission denied")
	assert.Contains(t, out, "devnull-ok\n")
	assert.Contains(t, out, "4\n")
	assert.Contains(t, out, "etc-read-ok\n")
	assert.Contains(t, out, "proc-read-ok\n")
	assert.Contains(t, out, "list-root-ok\n")
}

// Read does not imply execute (the Rust predecessor's "read" granted
// execute too): a binary under a Read rule cannot be run; under ReadExec it
// can.
func TestLandlockReadIsNotExec(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	requireLandlock(t)
	for _, tc := range []struct {
		access Access
		code   int
	}{{Read, 126}, {ReadExec, 0}} {
		d := outsideDir(t)
		copyFile(t, busybox, filepath.Join(d, "busybox"), 0o755)
		rules := append(DefaultLandlockRules(), PathRule{Path: d, Access: tc.access})
		r := runChild(t, childSpec{
			Program:  compile(t, Policy{Landlock: rules}),
			Identity: state.ProcessIdentity{UID: 0, GID: 0},
			Argv:     []string{busybox, "sh", "-c", `cat ` + d + `/busybox >/dev/null && echo read-ok; ` + d + `/busybox true; echo exec=$?`},
		}, childOpts{})
		require.Equal(t, 0, r.Code, r.Stderr)
		assert.Contains(t, r.Stdout, "read-ok\n", tc.access.String())
		assert.Contains(t, r.Stdout, "exec="+map[int]string{0: "0", 126: "126"}[tc.code]+"\n", tc.access.String())
	}
}

// Paths outside every rule are denied entirely, a rule on a single file
// works (directory-only rights are dropped for it, which landlock_add_rule
// would otherwise reject), and a rule for a missing path is skipped.
func TestLandlockFileRuleAndMissingPath(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	requireLandlock(t)
	d := outsideDir(t)
	f := filepath.Join(d, "file")
	require.NoError(t, os.WriteFile(f, []byte("old\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(d, "other"), []byte("other\n"), 0o644))
	rules := append(DefaultLandlockRules(),
		PathRule{Path: f, Access: Write},
		PathRule{Path: "/nonexistent/nucleus-harden", Access: ReadWrite},
	)
	r := runChild(t, childSpec{
		Program:  compile(t, Policy{Landlock: rules}),
		Identity: state.ProcessIdentity{UID: 0, GID: 0},
		Argv: []string{busybox, "sh", "-c", `
echo new > ` + f + ` && echo write-ok
cat ` + f + ` || echo read-refused
cat ` + d + `/other || echo other-refused
ls ` + d + ` >/dev/null && echo list-ok
touch ` + d + `/created || echo create-refused
`},
	}, childOpts{})
	require.Equal(t, 0, r.Code, r.Stderr)
	assert.Contains(t, r.Stdout, "write-ok\n")
	assert.Contains(t, r.Stdout, "read-refused\n")
	assert.Contains(t, r.Stdout, "other-refused\n")
	assert.Contains(t, r.Stdout, "list-ok\n", `"/" may be listed, beneath too`)
	assert.Contains(t, r.Stdout, "create-refused\n")
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	assert.Equal(t, "new\n", string(b))
	assert.NoFileExists(t, filepath.Join(d, "created"))
}

// The rights are masked to what the kernel's Landlock ABI handles, and a
// single file only gets file rights.
func TestLandlockRightsPerABI(t *testing.T) {
	dirRW := landlockRights(ReadWrite)
	assert.Equal(t, uint64(0), hardencore.HandledFSRights(0))
	assert.Equal(t, uint64(0), hardencore.HandledFSRights(-1))

	v1 := hardencore.RuleRights(dirRW, true, hardencore.HandledFSRights(1))
	assert.Zero(t, v1&(ll.AccessFSRefer|ll.AccessFSTruncate), "ABI 1 has neither refer nor truncate")
	assert.NotZero(t, v1&ll.AccessFSMakeReg)
	assert.NotZero(t, hardencore.RuleRights(dirRW, true, hardencore.HandledFSRights(2))&ll.AccessFSRefer)
	assert.NotZero(t, hardencore.RuleRights(dirRW, true, hardencore.HandledFSRights(3))&ll.AccessFSTruncate)
	assert.Zero(t, hardencore.RuleRights(landlockRights(Ioctl), true, hardencore.HandledFSRights(4)))
	assert.Equal(t, uint64(ll.AccessFSIoctlDev), hardencore.RuleRights(landlockRights(Ioctl), true, hardencore.HandledFSRights(5)))
	assert.Equal(t, hardencore.HandledFSRights(11), hardencore.HandledFSRights(99), "a newer kernel is treated as the newest ABI known")

	file := hardencore.RuleRights(landlockRights(ReadWrite|Exec|Ioctl), false, hardencore.HandledFSRights(7))
	assert.Equal(t, uint64(ll.AccessFSReadFile|ll.AccessFSWriteFile|ll.AccessFSTruncate|ll.AccessFSExecute|ll.AccessFSIoctlDev), file)
	assert.Zero(t, hardencore.RuleRights(landlockRights(List), false, hardencore.HandledFSRights(7)), "listing means nothing for a file: the rule is skipped")

	// Read never carries execute; Exec never carries read.
	assert.Zero(t, landlockRights(Read)&ll.AccessFSExecute)
	assert.Equal(t, uint64(ll.AccessFSExecute), landlockRights(Exec))
	// Write never allows making device nodes.
	assert.Zero(t, landlockRights(accessAll)&(ll.AccessFSMakeChar|ll.AccessFSMakeBlock))
}

func TestAccessJSON(t *testing.T) {
	rules := []PathRule{{"/a", ReadExec}, {"/b", List}, {"/c", ReadWrite | Ioctl}, {"/d", UnixConnect}}
	b, err := json.Marshal(rules)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"path":"/a","access":"read,exec"},{"path":"/b","access":"list"},{"path":"/c","access":"read,write,ioctl"},{"path":"/d","access":"unix"}]`, string(b))
	var back []PathRule
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rules, back)
	assert.Error(t, json.Unmarshal([]byte(`{"path":"/","access":"read,execute"}`), &back[0]))
	_, err = json.Marshal(PathRule{Path: "/", Access: 1 << 20})
	assert.Error(t, err)
}

func TestCompileLandlock(t *testing.T) {
	p, err := Compile(StrictPolicy())
	require.NoError(t, err)
	require.Len(t, p.Landlock, len(DefaultLandlockRules()))
	for _, r := range p.Landlock {
		if r.Path == "/tmp" || r.Path == "/etc" || r.Path == "/proc" || r.Path == "/dev" || r.Path == "/" {
			assert.Zero(t, r.Access&ll.AccessFSExecute, "%s must not be executable", r.Path)
		}
	}
	for _, bad := range [][]PathRule{
		{},
		{{Path: "tmp", Access: Read}},
		{{Path: "/tmp\x00x", Access: Read}},
		{{Path: "/tmp", Access: 0}},
		{{Path: "/tmp", Access: 1 << 12}},
	} {
		_, err := Compile(Policy{Strict: true, Landlock: bad})
		assert.Error(t, err, "%v", bad)
	}
	p, err = Compile(Policy{Strict: true, Landlock: []PathRule{{Path: "/usr/../usr/bin/", Access: ReadExec}}})
	require.NoError(t, err)
	assert.Equal(t, "/usr/bin", p.Landlock[0].Path)
}

// Without Landlock in the kernel Apply fails unless best-effort was asked
// for; a kernel that refuses for another reason always fails.
func TestLandlockUnavailable(t *testing.T) {
	assert.NoError(t, hardencore.LandlockUnavailable(unix.ENOSYS, true))
	assert.NoError(t, hardencore.LandlockUnavailable(unix.EOPNOTSUPP, true))
	assert.ErrorIs(t, hardencore.LandlockUnavailable(unix.ENOSYS, false), unix.ENOSYS)
	assert.ErrorIs(t, hardencore.LandlockUnavailable(unix.EPERM, true), unix.EPERM)
}

// The child's table of rights per Landlock ABI (nucleus/internal/hardencore,
// which must not import go-landlock) is go-landlock's: V1 … V11 handle
// exactly those rights, and the single-file rights are the same.
func TestLandlockTableMatchesGoLandlock(t *testing.T) {
	configs := []landlock.Config{
		landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5, landlock.V6,
		landlock.V7, landlock.V8, landlock.V9, landlock.V10, landlock.V11,
	}
	require.Equal(t, len(configs), hardencore.LandlockABIs, "go-landlock knows another number of ABI versions: extend hardencore's table")
	for i, c := range configs {
		assert.Equal(t, uint64(c.HandledAccessFS), hardencore.HandledFSRights(i+1), "ABI %d", i+1)
	}
	assert.Equal(t, uint64(configs[len(configs)-1].HandledAccessFS), uint64(hardencore.KnownFSRights))
	assert.Equal(t, uint64(ll.AccessFSExecute|ll.AccessFSWriteFile|ll.AccessFSReadFile|ll.AccessFSTruncate|ll.AccessFSIoctlDev), uint64(hardencore.FileRights))
	for v, want := range map[uint64]uint64{
		hardencore.AccessFSReadDir: ll.AccessFSReadDir, hardencore.AccessFSMakeChar: ll.AccessFSMakeChar,
		hardencore.AccessFSMakeBlock: ll.AccessFSMakeBlock, hardencore.AccessFSRefer: ll.AccessFSRefer,
		hardencore.AccessFSResolveUnix: ll.AccessFSResolveUnix,
	} {
		assert.Equal(t, want, v)
	}
	abi, err := LandlockABI()
	if err == nil {
		v, err := ll.LandlockGetABIVersion()
		require.NoError(t, err)
		assert.Equal(t, v, abi)
	}
}

// The capability names in the child's error messages are libcap's.
func TestCapNamesMatchLibcap(t *testing.T) {
	for v := uint(0); v < 64; v++ {
		assert.Equal(t, cap.Value(v).String(), hardencore.CapName(v), "capability %d", v)
	}
}
