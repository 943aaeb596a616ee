package testcontainer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ImageSpec is what an image built offline for an engine test holds: the
// busybox rootfs of Start (hostname "nucleus-image") and the configuration
// an engine's import would otherwise get from a Dockerfile.
type ImageSpec struct {
	// Env is the image's ENV (KEY=VAL).
	Env []string
	// Cmd is the image's default command.
	Cmd []string
}

// WebPort is where the image's default command (busybox httpd serving
// /www, which holds index.html) listens, for TCP and HTTP probe tests.
const WebPort = 8080

// DefaultImage is the image of the engine tests: ENV FOO=bar and a web
// server on WebPort as its command.
var DefaultImage = ImageSpec{
	Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FOO=bar"},
	Cmd: []string{"httpd", "-f", "-p", fmt.Sprint(WebPort), "-h", "/www"},
}

// RootfsTar writes the busybox rootfs (buildRootfs) plus /www/index.html
// as an uncompressed tar in dir and returns its path: the layer of an OCI
// archive, and what `docker import` and `podman import` take.
func RootfsTar(dir string) (string, error) {
	rootfs, err := buildRootfs("nucleus-image", 0, false)
	if err != nil {
		return "", err
	}
	defer removeRootfs(rootfs)
	if err := os.MkdirAll(filepath.Join(rootfs, "www"), 0o755); err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(rootfs, "www/index.html"), []byte("nucleus\n"), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "rootfs.tar")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(rootfs, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("testcontainer: rootfs tar: %w", err)
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return path, f.Close()
}

// OCIArchive writes, in dir, an OCI image layout archive (oci-layout,
// index.json, blobs/sha256/*: one uncompressed layer, its config, its
// manifest) of the layer tar with the image configuration spec, named ref
// (what `ctr images import` takes: containerd 1.6 cannot import a rootfs).
func OCIArchive(dir, layer, ref string, spec ImageSpec) (string, error) {
	layerData, err := os.ReadFile(layer)
	if err != nil {
		return "", err
	}
	layerDigest := digest(layerData)
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Env": spec.Env, "Cmd": spec.Cmd},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	if err != nil {
		return "", err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", config),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layerData)},
	})
	if err != nil {
		return "", err
	}
	md := descriptor("application/vnd.oci.image.manifest.v1+json", manifest)
	md["annotations"] = map[string]string{"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{md}})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "image-oci.tar")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blobName(config), config},
		{blobName(manifest), manifest},
		{blobName(layerData), layerData},
	}
	for _, fl := range files {
		if err := tw.WriteHeader(&tar.Header{Name: fl.name, Mode: 0o644, Size: int64(len(fl.data)), Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		if _, err := tw.Write(fl.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return path, f.Close()
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobName(b []byte) string {
	sum := sha256.Sum256(b)
	return "blobs/sha256/" + hex.EncodeToString(sum[:])
}

func descriptor(mediaType string, b []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": digest(b), "size": len(b)}
}
