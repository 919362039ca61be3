package agent

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"dalaba/proto/provision"
)

// tokenConn sends the terminal's id and token with every call on conn: the controller's audio
// service refuses calls without them. It is a wrapper, not a dial option, because simulated
// terminals share connections (Options.AudioConn).
type tokenConn struct {
	grpc.ClientConnInterface
	terminal, token string
}

// WithToken is conn sending terminal's token with every call; token "" leaves conn as is.
func WithToken(conn grpc.ClientConnInterface, terminal, token string) grpc.ClientConnInterface {
	if token == "" {
		return conn
	}
	return &tokenConn{ClientConnInterface: conn, terminal: terminal, token: token}
}

func (c *tokenConn) ctx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, provision.TerminalKey, c.terminal, provision.TokenKey, c.token)
}

func (c *tokenConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.ClientConnInterface.Invoke(c.ctx(ctx), method, args, reply, opts...)
}

func (c *tokenConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.ClientConnInterface.NewStream(c.ctx(ctx), desc, method, opts...)
}

// TransportCredentials are what the agent dials the audio service with: TLS trusting the
// controller's CA, or plain for a lab controller (--insecure-plaintext) when o.TLS is nil.
func (o Options) TransportCredentials() grpc.DialOption {
	if o.TLS == nil {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(o.TLS))
}
