package engine

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
)

// maxGRPCMessage bounds one gRPC answer (containerd's own clients use 16 MiB).
const maxGRPCMessage = 16 << 20

// dialUnix opens a gRPC connection to a UNIX socket: errAbsent when the
// socket does not exist. The connection is made lazily by gRPC; a socket
// nobody listens on fails the first call.
func dialUnix(path string) (*grpc.ClientConn, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, errAbsent
	}
	conn, err := grpc.NewClient("passthrough:///"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxGRPCMessage)),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	return conn, nil
}

// absentService maps the answers of a socket that does not serve the API
// (nobody listens; containerd without its CRI plugin) to errAbsent.
func absentService(err error) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.Unimplemented:
		return errAbsent
	}
	return err
}
