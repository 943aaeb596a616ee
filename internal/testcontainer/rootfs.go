package testcontainer

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

const (
	busyboxPath = "/bin/busybox"
	helperName  = "nucleus-testhelper"
	helperPkg   = "nucleus/internal/testcontainer/helper"
)

// The helper binary and the busybox applet list are made once per process
// and kept in memory, so that nothing outlives the process but rootfs
// copies, which Close removes.
var (
	helperOnce sync.Once
	helperBin  []byte
	helperErr  error

	appletsOnce sync.Once
	applets     []string
	appletsErr  error
)

// helperBinary returns the static helper: NUCLEUS_TESTHELPER if set, else a
// CGO_ENABLED=0 build of helperPkg (the rootfs has no libc).
func helperBinary() ([]byte, error) {
	helperOnce.Do(func() {
		if p := os.Getenv("NUCLEUS_TESTHELPER"); p != "" {
			helperBin, helperErr = os.ReadFile(p)
			return
		}
		helperBin, helperErr = buildHelper()
	})
	if helperErr != nil {
		return nil, fmt.Errorf("testcontainer: helper: %w", helperErr)
	}
	return helperBin, nil
}

func buildHelper() ([]byte, error) {
	goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		return nil, fmt.Errorf("find go tool: %w", err)
	}
	root, err := moduleRoot(goTool)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nucleus-testhelper-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, helperName)
	cmd := exec.Command(goTool, "build", "-o", out, helperPkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w: %s", helperPkg, err, bytes.TrimSpace(msg))
	}
	return os.ReadFile(out)
}

// moduleRoot finds the nucleus module: walking up from this source file
// (present whenever the helper can be built), else `go env GOMOD` in the
// working directory.
func moduleRoot(goTool string) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
			if fileExists(filepath.Join(dir, "go.mod")) {
				return dir, nil
			}
			if dir == filepath.Dir(dir) {
				break
			}
		}
	}
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find module root: no go.mod above the package source or the working directory (%v)", err)
	}
	return filepath.Dir(gomod), nil
}

// busyboxApplets checks that /bin/busybox is static (the rootfs has no libc)
// and returns its applet names.
func busyboxApplets() ([]string, error) {
	appletsOnce.Do(func() {
		const fix = "install a static busybox: apt-get install busybox-static"
		f, err := elf.Open(busyboxPath)
		if err != nil {
			appletsErr = fmt.Errorf("%s: %w (%s)", busyboxPath, err, fix)
			return
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				appletsErr = fmt.Errorf("%s is dynamically linked (%s)", busyboxPath, fix)
				return
			}
		}
		out, err := exec.Command(busyboxPath, "--list").Output()
		if err != nil {
			appletsErr = fmt.Errorf("%s --list: %w", busyboxPath, err)
			return
		}
		for _, name := range strings.Fields(string(out)) {
			if name != "busybox" && !strings.Contains(name, "/") {
				applets = append(applets, name)
			}
		}
	})
	if appletsErr != nil {
		return nil, fmt.Errorf("testcontainer: busybox: %w", appletsErr)
	}
	return applets, nil
}

// Files of every rootfs. /etc/group has the extra groups 2000 and 3000 for
// tests of additional gids.
const (
	etcPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"user:x:1000:1000:user:/home/user:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	etcGroup = "root:x:0:\n" +
		"user:x:1000:\n" +
		"grp2000:x:2000:user\n" +
		"grp3000:x:3000:\n" +
		"nogroup:x:65534:\n"
)

// buildRootfs makes a fresh rootfs in a new temporary directory. For a
// rootless container, uid owner must be able to reach it: every directory
// on the path must be searchable by others.
func buildRootfs(hostname string, owner int, distroless bool) (dir string, err error) {
	helper, err := helperBinary()
	if err != nil {
		return "", err
	}
	names, err := busyboxApplets()
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", "nucleus-tc-")
	if err != nil {
		return "", fmt.Errorf("testcontainer: rootfs: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
			err = fmt.Errorf("testcontainer: rootfs: %w", err)
		}
	}()
	if owner != 0 {
		if err := checkSearchable(filepath.Dir(dir), owner); err != nil {
			return "", err
		}
	}
	dirs := []struct {
		path string
		mode os.FileMode
	}{
		{".", 0o755}, {"bin", 0o755}, {"sbin", 0o755}, {"usr", 0o755}, {"usr/bin", 0o755},
		{"etc", 0o755}, {"root", 0o700}, {"home", 0o755}, {"home/user", 0o755},
		{"tmp", os.ModeSticky | 0o777}, {"proc", 0o555}, {"dev", 0o755}, {"dev/shm", os.ModeSticky | 0o777},
	}
	for _, d := range dirs {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, d.mode); err != nil {
			return "", err
		}
		if err := os.Chmod(p, d.mode); err != nil { // independent of umask
			return "", err
		}
	}
	if err := os.Chown(filepath.Join(dir, "home/user"), 1000, 1000); err != nil {
		return "", err
	}
	if distroless {
		names = nil
	} else if err := copyFile(busyboxPath, filepath.Join(dir, "bin/busybox")); err != nil {
		return "", err
	}
	for _, name := range names {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", name)); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{"bin/" + helperName, helper, 0o755},
		{"etc/passwd", []byte(etcPasswd), 0o644},
		{"etc/group", []byte(etcGroup), 0o644},
		{"etc/hostname", []byte(hostname + "\n"), 0o644},
		{"etc/hosts", []byte("127.0.0.1\tlocalhost " + hostname + "\n"), 0o644},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.path), f.data, f.mode); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// checkSearchable reports the first directory from dir up to / that uid
// cannot search (only the "other" bits are considered: the owner is not in
// any group of the host and owns none of these directories).
func checkSearchable(dir string, uid int) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is not searchable by uid %d: set TMPDIR to a directory it can reach", d, uid)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFile(dst, data, 0o755)
}

// writeFile writes data with exactly mode (not subject to umask).
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
