package sink

import (
	"context"
	"time"

	"dalaba/proto/wire"
)

type nullSink struct {
	turn *turn
}

// NewNull returns a sink that discards audio but takes as long as a real speaker would
// (the duration of the PCM at wire.BytesPerSecond), and reports the real peak and RMS of
// what it "played". It is cheap: the fleet simulator runs hundreds in one process.
func NewNull() Sink {
	return &nullSink{turn: newTurn()}
}

func (s *nullSink) Play(ctx context.Context, pcm []byte) (Played, error) {
	if err := s.turn.acquire(ctx); err != nil {
		return Played{}, err
	}
	defer s.turn.release()

	pcm = wholeSamples(pcm)
	start := time.Now()
	// One timer for the whole program: ten thousand simulated terminals must not wake up
	// every few milliseconds each.
	timer := time.NewTimer(durationOf(len(pcm)))
	defer timer.Stop()
	select {
	case <-timer.C:
		return played(pcm, len(pcm), start, time.Now()), nil
	case <-ctx.Done():
		end := time.Now()
		return played(pcm, bytesIn(end.Sub(start)), start, end), ctx.Err()
	case <-s.turn.closed:
		end := time.Now()
		return played(pcm, bytesIn(end.Sub(start)), start, end), ErrClosed
	}
}

func (s *nullSink) Close() error {
	s.turn.close()
	return nil
}

// durationOf is how long n bytes of system-format PCM take to play.
func durationOf(n int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / wire.BytesPerSecond)
}

// bytesIn is how many bytes of system-format PCM play in d.
func bytesIn(d time.Duration) int {
	return int(int64(d) * wire.BytesPerSecond / int64(time.Second))
}
