package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"

	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe"
)

// Speech is what a speaker's client streams to a shout.
type Speech struct {
	// Source gives system-format PCM (16-bit little-endian, wire.SampleRate Hz, mono). Its end
	// ends the shout cleanly; a last partial frame is padded with silence.
	Source io.Reader
	// Paced sends frame n no earlier than (n+1) × 20 ms after the start, as if spoken now: for
	// a file, or a pipe that may run ahead of real time. Its first sample counts as captured
	// at start + n × 20 ms. Unpaced (a capture device that delivers in real time), a frame is
	// sent as soon as it is read and counts as captured 20 ms before that.
	Paced bool
	// Bitrate of the Opus encoder; 0 means opusframe.Bitrate.
	Bitrate int
	// Sent, if set, is told each frame's sequence number, capture time and Opus packet once it
	// is sent (the packet is the encoder's buffer: copy what must be kept).
	Sent func(seq uint32, captured time.Time, packet []byte)
}

// Speak streams speech to shout o over conn (the controller's gRPC address) until the source
// ends or ctx ends, and then closes the stream cleanly: either way the shout ends, and
// listeners hear everything sent. Only a broken link makes the shout lost.
func Speak(ctx context.Context, conn grpc.ClientConnInterface, o Opened, sp Speech) (*dalabapb.ShoutResult, error) {
	enc, err := opusframe.NewEncoder(sp.Bitrate)
	if err != nil {
		return nil, err
	}
	// The stream outlives ctx: ending ctx means "stop speaking", a clean end, not a dropped link.
	stream, err := dalabapb.NewLiveServiceClient(conn).Shout(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("shout: %w", err)
	}
	if err := stream.Send(&dalabapb.ShoutFrame{Open: &dalabapb.ShoutOpen{LiveId: o.ID, StreamKey: o.StreamKey}}); err != nil {
		return closeShout(stream, err)
	}
	frames := make(chan []byte, 4)
	readErr := make(chan error, 1)
	go readFrames(ctx, sp.Source, frames, readErr)
	start := time.Now()
	for seq := uint32(0); ; seq++ {
		var pcm []byte
		select {
		case pcm = <-frames:
		case <-ctx.Done():
		}
		if pcm == nil {
			break
		}
		var captured time.Time
		if sp.Paced {
			captured = start.Add(time.Duration(seq) * opusframe.Duration)
			if wait := time.Until(captured.Add(opusframe.Duration)); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
				}
			}
		} else {
			captured = time.Now().Add(-opusframe.Duration)
		}
		if ctx.Err() != nil {
			break
		}
		packet, err := enc.Encode(pcm)
		if err != nil {
			return closeShout(stream, err)
		}
		if err := stream.Send(&dalabapb.ShoutFrame{Seq: seq, Opus: packet, CapturedUnixUs: captured.UnixMicro()}); err != nil {
			return closeShout(stream, err)
		}
		if sp.Sent != nil {
			sp.Sent(seq, captured, packet)
		}
	}
	select {
	case err := <-readErr:
		if err != nil {
			res, cerr := closeShout(stream, nil)
			return res, errors.Join(fmt.Errorf("shout: reading the audio: %w", err), cerr)
		}
	default:
	}
	return closeShout(stream, nil)
}

// closeShout ends the stream and returns the controller's verdict. A Send error is io.EOF
// when the controller has ended the stream: its status is the real reason.
func closeShout(stream grpc.ClientStreamingClient[dalabapb.ShoutFrame, dalabapb.ShoutResult], sendErr error) (*dalabapb.ShoutResult, error) {
	if sendErr != nil && !errors.Is(sendErr, io.EOF) {
		return nil, fmt.Errorf("shout: %w", sendErr)
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("shout: %w", err)
	}
	return res, sendErr
}

// readFrames cuts src into 20 ms frames. It closes frames at the end of src, or when ctx ends
// (a read in progress finishes first).
func readFrames(ctx context.Context, src io.Reader, frames chan<- []byte, failed chan<- error) {
	defer close(frames)
	for {
		pcm := make([]byte, opusframe.PCMBytes)
		n, err := io.ReadFull(src, pcm)
		if n > 0 {
			clear(pcm[n:])
			select {
			case frames <- pcm:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				failed <- err
			}
			return
		}
	}
}
