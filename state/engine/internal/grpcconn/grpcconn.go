// Package grpcconn dials the gRPC sockets of containerd and the CRI for
// nucleus/state/engine/containerd and nucleus/state/engine/cri.
package grpcconn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"nucleus/state/engine/internal/hook"
)

// maxMessage bounds one gRPC answer (containerd's own clients use 16 MiB).
const maxMessage = 16 << 20

// Dial opens a gRPC connection to a UNIX socket: hook.ErrAbsent when the
// socket does not exist. The connection is made lazily by gRPC; a socket
// nobody listens on fails the first call.
func Dial(path string) (*grpc.ClientConn, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, hook.ErrAbsent
	}
	conn, err := grpc.NewClient("passthrough:///"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	return conn, nil
}

// AbsentService maps the answers of a socket that does not serve the API
// (nobody listens; containerd without its CRI plugin) to hook.ErrAbsent.
func AbsentService(err error) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.Unimplemented:
		return hook.ErrAbsent
	}
	return err
}
