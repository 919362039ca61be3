package audio

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// ChunkBytes is the PCM carried per AudioChunk: 1 s of audio, well under gRPC's 4 MiB
// message limit, and few enough messages that 10,000 concurrent fetches stay cheap.
const ChunkBytes = 32 << 10

// Service serves programs to terminal agents.
type Service struct {
	dalabapb.UnimplementedAudioServiceServer
	programs *Programs
	slots    chan struct{}

	// Live serves Listen (live shouts, controller/live); nil answers Unimplemented.
	Live interface {
		Listen(*dalabapb.ListenRequest, grpc.ServerStreamingServer[dalabapb.LiveFrame]) error
	}
}

// Listen streams a live shout's frames; the live hub does the work.
func (s *Service) Listen(req *dalabapb.ListenRequest, stream grpc.ServerStreamingServer[dalabapb.LiveFrame]) error {
	if s.Live == nil {
		return status.Error(codes.Unimplemented, "live shouting is not served by this controller")
	}
	return s.Live.Listen(req, stream)
}

// NewService returns an AudioService backed by p.
func NewService(p *Programs) *Service {
	return &Service{programs: p, slots: make(chan struct{}, concurrentFetches)}
}

// concurrentFetches bounds the fetches served at once. When a whole town fetches the same
// program together, serving them all at once only makes every one of them slow and holds
// thousands of deep goroutine stacks; the rest wait their turn, cheaply.
const concurrentFetches = 256

// Fetch streams one program: the header (format, length, sha256) rides on the first chunk
// so the agent can size its buffer and verify what it got before playing.
func (s *Service) Fetch(req *dalabapb.FetchRequest, stream grpc.ServerStreamingServer[dalabapb.AudioChunk]) error {
	ctx := stream.Context()
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
	log := s.programs.log.With("program", req.GetProgramId(), "terminal", req.GetTerminalId(), "broadcast", req.GetBroadcastId())
	start := time.Now()

	id := strings.ToLower(req.GetProgramId())
	pcm, err := s.programs.Get(id)
	if errors.Is(err, ErrUnknownProgram) {
		log.Warn("fetch of unknown program", "err", err)
		return status.Error(codes.NotFound, err.Error())
	}
	if err != nil {
		log.Error("fetch: cannot load program", "err", err)
		return status.Errorf(codes.Internal, "load program: %v", err)
	}

	header := &dalabapb.AudioHeader{
		Format:     wire.Format(),
		TotalBytes: int64(len(pcm)),
		// The id is the PCM's sha256 and Get has checked the file against it.
		Sha256: id,
	}
	for off := 0; off < len(pcm); off += ChunkBytes {
		// Send blocks on flow control, so a vanished agent must be noticed here, not only
		// through a Send error.
		if err := ctx.Err(); err != nil {
			log.Info("fetch abandoned", "sent_bytes", off, "err", err)
			return status.FromContextError(err).Err()
		}
		chunk := &dalabapb.AudioChunk{Pcm: pcm[off:min(off+ChunkBytes, len(pcm))]}
		if off == 0 {
			chunk.Header = header
		}
		if err := stream.Send(chunk); err != nil {
			log.Info("fetch send failed", "sent_bytes", off, "err", err)
			return err
		}
	}
	log.Debug("fetch served", "bytes", len(pcm), "elapsed", time.Since(start))
	return nil
}

// Clock answers one clock probe (NTP-style): when the probe arrived and when the answer left,
// on this controller's clock, which is the clock every play-at instant is stamped on. The
// agent (terminal-agent/clock) bounds its offset from these and its own send and receive
// times; stamping as late and as early as possible keeps those bounds tight.
func (s *Service) Clock(_ context.Context, req *dalabapb.ClockRequest) (*dalabapb.ClockReply, error) {
	recv := time.Now().UnixMicro()
	return &dalabapb.ClockReply{ClientSendUnixUs: req.GetClientSendUnixUs(), ServerRecvUnixUs: recv,
		ServerSendUnixUs: time.Now().UnixMicro()}, nil
}
