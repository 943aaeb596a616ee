package attach_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
)

// BenchmarkHostBinaryVsAttach alternates Attach of the container's
// /bin/true and Attach of the host's static busybox as `true`
// (WithHostBinary: open and ELF check on the host, one more fd, execveat)
// and reports the cost ratio (x-attach).
func BenchmarkHostBinaryVsAttach(b *testing.B) {
	st := benchContainer(b)
	hostTrue := func() {
		code, err := attach.Attach(st, []string{"true"}, attach.WithHostBinary(hostBusybox), attach.WithStdio(nil, nil, nil))
		if err != nil || code != 0 {
			b.Fatalf("attach host binary: %d, %v", code, err)
		}
	}
	attachTrue(b, st)
	hostTrue()
	var tAttach, tHost time.Duration
	for b.Loop() {
		t0 := time.Now()
		attachTrue(b, st)
		t1 := time.Now()
		hostTrue()
		tAttach += t1.Sub(t0)
		tHost += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tAttach.Nanoseconds())/n, "attach-ns/op")
	b.ReportMetric(float64(tHost.Nanoseconds())/n, "hostbin-ns/op")
	b.ReportMetric(float64(tHost)/float64(tAttach), "x-attach")
}

// copyTree is a tar of 100 MB: 10 directories of 10 files of 1 MB.
func copyTree(b *testing.B) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := bytes.Repeat([]byte("nucleus copy bench\n"), 1<<20/19+1)[:1<<20]
	for d := range 10 {
		dir := fmt.Sprintf("tree/d%d/", d)
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			b.Fatal(err)
		}
		for f := range 10 {
			h := &tar.Header{Name: fmt.Sprintf("%sf%d", dir, f), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}
			if err := tw.WriteHeader(h); err != nil {
				b.Fatal(err)
			}
			if _, err := tw.Write(data); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkCopyVsTar copies a 100 MB tree into a container and out of it
// with CopyTo and CopyFrom, and, alternating with them, with the baseline
// the issue allows here (docker cp needs dockerd): the container's own tar
// run through util-linux `nsenter -a`, unhardened. It reports MB/s of each
// and the ratios (x-tar: nucleus time over tar time, below 1 is faster).
func BenchmarkCopyVsTar(b *testing.B) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		b.Skip("nsenter not installed")
	}
	c := testcontainer.New(b, testcontainer.Options{})
	st, err := c.State()
	if err != nil {
		b.Fatal(err)
	}
	tree := copyTree(b)
	mb := float64(len(tree)) / 1e6
	ctx := context.Background()
	pid := strconv.Itoa(c.PID)
	fresh := func(name string) string {
		dir := filepath.Join(c.Rootfs, "root", name)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		return "/root/" + name
	}
	tar := func(stdin io.Reader, args ...string) {
		var stderr bytes.Buffer
		cmd := exec.Command(nsenter, append([]string{"-t", pid, "-a", "tar"}, args...)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("nsenter tar %q: %v: %s", args, err, stderr.Bytes())
		}
	}
	var tIn, tTarIn, tOut, tTarOut time.Duration
	for b.Loop() {
		dst := fresh("nucleus")
		t0 := time.Now()
		if err := attach.CopyTo(ctx, st, dst, bytes.NewReader(tree)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rc, err := attach.CopyFrom(ctx, st, dst+"/tree")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tdst := fresh("tar")
		t3 := time.Now()
		tar(bytes.NewReader(tree), "-x", "-C", tdst)
		t4 := time.Now()
		tar(nil, "-c", "-C", tdst, "tree")
		t5 := time.Now()
		tIn, tOut, tTarIn, tTarOut = tIn+t1.Sub(t0), tOut+t2.Sub(t1), tTarIn+t4.Sub(t3), tTarOut+t5.Sub(t4)
	}
	n := float64(b.N)
	b.ReportMetric(mb*n/tIn.Seconds(), "in-MB/s")
	b.ReportMetric(mb*n/tTarIn.Seconds(), "tar-in-MB/s")
	b.ReportMetric(float64(tIn)/float64(tTarIn), "in-x-tar")
	b.ReportMetric(mb*n/tOut.Seconds(), "out-MB/s")
	b.ReportMetric(mb*n/tTarOut.Seconds(), "tar-out-MB/s")
	b.ReportMetric(float64(tOut)/float64(tTarOut), "out-x-tar")
}
