package sink

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errStreamClosed is a Write or Close on a stream already closed.
var errStreamClosed = errors.New("sink: stream already closed")

// Latency of the null sink is nothing: audio "sounds" as it is written.
func (s *nullSink) Latency() time.Duration { return 0 }

// Stream plays live audio nowhere, keeping the time a speaker would take: Close waits until
// the last sample written would have sounded. No goroutine, no timer per write: hundreds of
// simulated terminals stream at once.
func (s *nullSink) Stream(ctx context.Context) (Stream, error) {
	if err := s.turn.acquire(ctx); err != nil {
		return nil, err
	}
	return &nullStream{turn: s.turn}, nil
}

type nullStream struct {
	turn *turn

	mu     sync.Mutex
	start  time.Time // the first sample sounded
	until  time.Time // the last sample written will have sounded
	meter  meter
	closed bool
}

func (st *nullStream) Write(pcm []byte) error {
	select {
	case <-st.turn.closed:
		return ErrClosed
	default:
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return errStreamClosed
	}
	pcm = wholeSamples(pcm)
	now := time.Now()
	if st.start.IsZero() {
		st.start = now
	}
	if st.until.Before(now) { // the device ran dry: silence played meanwhile
		st.until = now
	}
	st.until = st.until.Add(durationOf(len(pcm)))
	st.meter.add(pcm)
	return nil
}

func (st *nullStream) Close(ctx context.Context) (Played, error) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return Played{}, errStreamClosed
	}
	st.closed = true
	until := st.until
	st.mu.Unlock()
	defer st.turn.release()

	var err error
	if wait := time.Until(until); wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			err = ctx.Err()
		case <-st.turn.closed:
			err = ErrClosed
		}
	}
	end := time.Now()
	unplayed := int64(0)
	if until.After(end) {
		unplayed = int64(bytesIn(until.Sub(end)))
	}
	return st.meter.played(st.meter.bytes-unplayed, st.start, end), err
}
