package live

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dalaba/proto/dalabapb"
)

// Listen streams a shout to one terminal (AudioService.Listen): first a message with the
// header (play times, and the first frame this listener gets), then the frames as they come,
// then a frame with end set when the speaker finishes. If the speaker's link drops, the stream
// fails with codes.Aborted, "live stream lost".
func (h *Hub) Listen(req *dalabapb.ListenRequest, stream grpc.ServerStreamingServer[dalabapb.LiveFrame]) error {
	ctx := stream.Context()
	s := h.get(req.GetLiveId())
	if s == nil {
		return status.Errorf(codes.NotFound, "live %q: no such shout (it ended long ago or never began)", req.GetLiveId())
	}
	s.waiting(+1)
	select {
	case <-s.started:
	case <-s.closed:
	case <-ctx.Done():
	}
	s.waiting(-1)
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	select {
	case <-s.started:
	default: // closed before anything was said
		_, why := s.outcome()
		return status.Errorf(codes.Aborted, "live stream lost: %s", why)
	}
	l, header, backlog := s.join(req.GetTerminalId(), time.Now())
	defer s.leave(l)
	if err := stream.Send(&dalabapb.LiveFrame{Header: header, Seq: header.FirstSeq}); err != nil {
		return err
	}
	for _, f := range backlog {
		if err := stream.Send(f); err != nil {
			return err
		}
	}
	out := pairer{send: stream.Send, timer: time.NewTimer(time.Hour)}
	out.timer.Stop()
	for {
		select {
		case f := <-l.q:
			if err := out.add(f); err != nil {
				return err
			}
		case <-out.timer.C:
			if err := out.flush(); err != nil {
				return err
			}
		case <-s.closed:
			// Nothing is queued after closed: send what is, then the outcome.
			for len(l.q) > 0 {
				if err := out.add(<-l.q); err != nil {
					return err
				}
			}
			if err := out.flush(); err != nil {
				return err
			}
			end, why := s.outcome()
			if why != "" {
				return status.Errorf(codes.Aborted, "live stream lost: %s", why)
			}
			return stream.Send(&dalabapb.LiveFrame{Seq: end, End: true})
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// pairWait bounds how long a frame waits for the next one to share its message (LiveFrame's
// more_opus): 20 ms when the speaker keeps time, so a pair costs 20 ms of the live delay and
// saves about 7 kbit/s per terminal of HTTP/2, gRPC and TLS overhead.
const pairWait = 25 * time.Millisecond

// pairer sends a listener's frames two to a message: a frame waits for the next in sequence,
// or pairWait, whichever comes first. Frames are shared by every listener: never modified.
type pairer struct {
	send    func(*dalabapb.LiveFrame) error
	timer   *time.Timer
	pending *dalabapb.LiveFrame
}

func (p *pairer) add(f *dalabapb.LiveFrame) error {
	if p.pending == nil {
		p.pending = f
		p.timer.Reset(pairWait)
		return nil
	}
	if f.Seq != p.pending.Seq+1 {
		if err := p.flush(); err != nil {
			return err
		}
		return p.add(f)
	}
	pair := &dalabapb.LiveFrame{Seq: p.pending.Seq, Opus: p.pending.Opus, MoreOpus: [][]byte{f.Opus}}
	p.pending = nil
	p.timer.Stop()
	return p.send(pair)
}

// flush sends the frame waiting for its pair, alone.
func (p *pairer) flush() error {
	if p.pending == nil {
		return nil
	}
	f := p.pending
	p.pending = nil
	p.timer.Stop()
	return p.send(f)
}
