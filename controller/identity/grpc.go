package identity

import (
	"context"
	"maps"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"dalaba/proto/dalabapb"
	"dalaba/proto/provision"
)

// GRPC checks every call to the terminals' audio service (fetch, clock, listen): the call
// carries its terminal id and token in metadata (provision.TerminalKey, TokenKey), the token
// must be that terminal's good one, and a request naming a terminal must name that one.
// Other services (a speaker's shout, which has its own stream key) pass.
type GRPC struct {
	Credentials *Credentials

	mu      sync.Mutex
	refused map[string]int64                    // by why: unauthenticated, wrong_terminal
	open    map[string]map[*openStream]struct{} // streams in progress, by terminal
}

// errRevoked ends a terminal's streams in progress when its token stops being good.
var errRevoked = status.Error(codes.Unauthenticated, "terminal token revoked")

var terminalService = "/" + dalabapb.AudioService_ServiceDesc.ServiceName + "/"

// ServerOptions are the interceptors to give grpc.NewServer.
func (g *GRPC) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(g.unary), grpc.ChainStreamInterceptor(g.stream)}
}

func (g *GRPC) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if !strings.HasPrefix(info.FullMethod, terminalService) {
		return next(ctx, req)
	}
	terminal, err := g.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	if err := g.claims(terminal, req, info.FullMethod); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

func (g *GRPC) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	if !strings.HasPrefix(info.FullMethod, terminalService) {
		return next(srv, ss)
	}
	terminal, err := g.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ss.Context())
	defer g.track(terminal, &openStream{cancel})()
	err = next(srv, &claimChecked{ServerStream: ss, ctx: ctx, check: func(m any) error { return g.claims(terminal, m, info.FullMethod) }})
	if context.Cause(ctx) == errRevoked {
		return errRevoked
	}
	return err
}

// track registers a stream of terminal's in progress, so that CutOff can end it; the returned
// func forgets it (and ends it).
func (g *GRPC) track(terminal string, st *openStream) (forget func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == nil {
		g.open = map[string]map[*openStream]struct{}{}
	}
	if g.open[terminal] == nil {
		g.open[terminal] = map[*openStream]struct{}{}
	}
	g.open[terminal][st] = struct{}{}
	return func() {
		g.mu.Lock()
		delete(g.open[terminal], st)
		if len(g.open[terminal]) == 0 {
			delete(g.open, terminal)
		}
		g.mu.Unlock()
		st.cancel(nil)
	}
}

// CutOff ends every stream terminal has in progress (a live shout it listens to, audio it
// fetches): its token is no longer good (Credentials.OnRevoke). New calls are refused anyway.
func (g *GRPC) CutOff(terminal string) {
	g.mu.Lock()
	streams := g.open[terminal]
	delete(g.open, terminal)
	g.mu.Unlock()
	for st := range streams {
		st.cancel(errRevoked)
	}
	if len(streams) > 0 {
		g.Credentials.log.Warn("grpc streams of a revoked terminal ended", "terminal", terminal, "streams", len(streams))
	}
}

func (g *GRPC) authenticate(ctx context.Context, method string) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	terminal, token := first(md, provision.TerminalKey), first(md, provision.TokenKey)
	if terminal == "" || !g.Credentials.Check(terminal, token) {
		g.refuse("unauthenticated", "terminal", terminal, "method", method, "why", "missing, wrong or revoked token")
		return "", status.Error(codes.Unauthenticated, "terminal token missing, wrong or revoked")
	}
	return terminal, nil
}

// claims refuses a request that names another terminal than the one authenticated.
func (g *GRPC) claims(terminal string, req any, method string) error {
	r, ok := req.(interface{ GetTerminalId() string })
	if !ok || r.GetTerminalId() == terminal {
		return nil
	}
	g.refuse("wrong_terminal", "terminal", terminal, "method", method, "claimed", r.GetTerminalId())
	return status.Errorf(codes.PermissionDenied, "terminal %s may not ask as %s", terminal, r.GetTerminalId())
}

func (g *GRPC) refuse(why string, args ...any) {
	g.mu.Lock()
	if g.refused == nil {
		g.refused = map[string]int64{}
	}
	g.refused[why]++
	g.mu.Unlock()
	g.Credentials.log.Warn("grpc call refused", append(args, "refusal", why)...)
}

// Refusals counts refused calls by why.
func (g *GRPC) Refusals() map[string]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.refused)
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// openStream is a stream in progress, which CutOff can end.
type openStream struct{ cancel context.CancelCauseFunc }

// claimChecked checks every request message of a stream, whose context ends when its terminal
// is cut off.
type claimChecked struct {
	grpc.ServerStream
	ctx   context.Context
	check func(any) error
}

func (s *claimChecked) Context() context.Context { return s.ctx }

func (s *claimChecked) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.check(m)
}
