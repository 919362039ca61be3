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
	for {
		select {
		case f := <-l.q:
			if err := stream.Send(f); err != nil {
				return err
			}
		case <-s.closed:
			// Nothing is queued after closed: send what is, then the outcome.
			for len(l.q) > 0 {
				if err := stream.Send(<-l.q); err != nil {
					return err
				}
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
