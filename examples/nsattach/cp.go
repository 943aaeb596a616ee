package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"nucleus/attach"
	"nucleus/state"
)

// cp is `nsattach cp`, docker cp's two forms with the container given by the
// target flags and its side of the copy marked by a leading ":":
//
//	nsattach cp --pid N SRC :DIR     host file or tree SRC into the existing DIR
//	nsattach cp --pid N - :DIR       a tar stream on stdin, extracted into DIR
//	nsattach cp --pid N :SRC DIR     container file or tree SRC into the host's DIR
//	nsattach cp --pid N :SRC -       ... as a tar stream on stdout
//
// The container's side is done by attach.CopyTo and CopyFrom, inside the
// container, as its user (or -u). The host's side is the caller's: a tree
// from the container is extracted through an os.Root, so that an entry of
// the (untrusted) stream cannot leave DIR on the host, by a symlink or by
// "..".
func cp(args []string) int {
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(os.Stdout, usage)
		return 0
	}
	if err != nil {
		return fail(fmt.Errorf("cp: %w", err))
	}
	if len(o.command) != 2 {
		return fail(errors.New("cp: want SRC and DST, one of them :PATH in the container"))
	}
	if o.dir != "" || len(o.env) > 0 || o.tty || o.hostBinary != "" {
		return fail(errors.New("cp: -w, -e, -t and --host-binary do not apply to a copy"))
	}
	src, dst := o.command[0], o.command[1]
	srcIn, srcPath := containerPath(src)
	dstIn, dstPath := containerPath(dst)
	if srcIn == dstIn {
		return fail(errors.New("cp: exactly one of SRC and DST must be :PATH in the container"))
	}
	st, err := o.target()
	if err != nil {
		return fail(err)
	}
	id, err := o.identity(st)
	if err != nil {
		return fail(err)
	}
	var opts []attach.Option
	if id != nil {
		opts = append(opts, attach.WithIdentity(*id))
	}
	ctx := context.Background()
	if dstIn {
		err = copyIn(ctx, st, srcPath, dstPath, opts)
	} else {
		err = copyOut(ctx, st, srcPath, dstPath, opts)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// containerPath tells a ":PATH" argument (the container's side) from a
// host path.
func containerPath(arg string) (bool, string) {
	if p, ok := strings.CutPrefix(arg, ":"); ok {
		return true, p
	}
	return false, arg
}

// copyIn sends the host's src (or stdin's tar for "-") into dir.
func copyIn(ctx context.Context, st *state.ContainerState, src, dir string, opts []attach.Option) error {
	if src == "-" {
		return attach.CopyTo(ctx, st, dir, os.Stdin, opts...)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(packTree(pw, src)) }()
	err := attach.CopyTo(ctx, st, dir, pr, opts...)
	pr.Close()
	return err
}

// packTree writes src as a tar stream, its entries named after src's base
// name; symlinks are stored as symlinks and hard links as links.
func packTree(w io.Writer, src string) error {
	tw := tar.NewWriter(w)
	src = filepath.Clean(src)
	base := filepath.Dir(src)
	links := map[[2]uint64]string{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		var link string
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && sys.Nlink > 1 {
			key := [2]uint64{uint64(sys.Dev), uint64(sys.Ino)}
			if first, ok := links[key]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				links[key] = h.Name
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, h.Size)
		return err
	})
	if err != nil {
		return fmt.Errorf("cp: read %s: %w", src, err)
	}
	return tw.Close()
}

// copyOut writes the container's src into the host's dir (or stdout for "-").
func copyOut(ctx context.Context, st *state.ContainerState, src, dir string, opts []attach.Option) error {
	rc, err := attach.CopyFrom(ctx, st, src, opts...)
	if err != nil {
		return err
	}
	if dir == "-" {
		_, err = io.Copy(os.Stdout, rc)
	} else {
		err = extract(rc, dir)
	}
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return err
}

// extract unpacks a tar stream from the container into the existing host
// directory dir. Everything goes through an os.Root of dir: no entry name,
// symlink or hard link of the stream can reach outside it. Owners are the
// caller's; modes and times the stream's, setuid and setgid bits dropped (a
// file from a container must not become a privileged host program).
func extract(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("cp: %w", err)
	}
	defer root.Close()
	tr := tar.NewReader(r)
	// Directory modes last, deepest first: a read-only directory could not
	// be filled after its chmod.
	type dirMode struct {
		name string
		mode fs.FileMode
	}
	var dirs []dirMode
	for {
		h, err := tr.Next()
		if err == io.EOF {
			for i := len(dirs) - 1; i >= 0; i-- {
				if err := root.Chmod(dirs[i].name, dirs[i].mode); err != nil {
					return fmt.Errorf("cp: %s: %w", filepath.Join(dir, dirs[i].name), err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("cp: read stream: %w", err)
		}
		name := path.Clean(h.Name)
		if !fs.ValidPath(name) {
			return fmt.Errorf("cp: entry %q: %w", h.Name, tar.ErrInsecurePath)
		}
		mode := fs.FileMode(h.Mode).Perm() // no setuid, setgid, sticky
		if h.Typeflag == tar.TypeDir && name != "." {
			dirs = append(dirs, dirMode{name, mode})
		}
		if err := extractOne(root, tr, h, name, mode); err != nil {
			return fmt.Errorf("cp: %s: %w", filepath.Join(dir, name), err)
		}
	}
}

func extractOne(root *os.Root, tr *tar.Reader, h *tar.Header, name string, mode fs.FileMode) error {
	switch h.Typeflag {
	case tar.TypeDir:
		if name == "." {
			return nil
		}
		if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil // its mode is applied at the end
	case tar.TypeReg:
		_ = root.Remove(name) // replace, as docker cp does; a directory stays and fails below
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = root.Chmod(name, mode)
		}
		if err == nil {
			err = root.Chtimes(name, h.ModTime, h.ModTime)
		}
		return err
	case tar.TypeSymlink:
		_ = root.Remove(name)
		return root.Symlink(h.Linkname, name)
	case tar.TypeLink:
		target := path.Clean(h.Linkname)
		if !fs.ValidPath(target) {
			return fmt.Errorf("hard link to %q: %w", h.Linkname, tar.ErrInsecurePath)
		}
		_ = root.Remove(name)
		return root.Link(target, name)
	default:
		return nil // FIFOs and devices from a container are not recreated on the host
	}
}
