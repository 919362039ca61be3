package sink

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/ebitengine/oto/v3"
)

const (
	// otoPeriod is one of the two periods of the device buffer: oto's mixer hands the device
	// a period at a time.
	otoPeriod = otoDeviceBuffer / 2
	// otoStreamLatency is from a stream Write to its first sample sounding. A sample waits for
	// the mixer's next period (0 to otoPeriod), behind the one-period silence that starts every
	// stream (so that the mixer never finds a half-filled period, which it would pad with
	// silence mid-speech), then passes through the device buffer. oto cannot see the phase of
	// the device's periods, so this is the middle of a ±otoPeriod/2 range.
	otoStreamLatency = otoDeviceBuffer + otoPeriod + otoPeriod/2
)

// Latency is the oto sink's stream latency (see otoStreamLatency).
func (s *otoSink) Latency() time.Duration { return otoStreamLatency }

// Stream opens live output through oto: one player fed by Writes as they come.
func (s *otoSink) Stream(ctx context.Context) (Stream, error) {
	if err := s.turn.acquire(ctx); err != nil {
		return nil, err
	}
	if err := s.ctx.Err(); err != nil {
		s.turn.release()
		return nil, deviceError("audio output failed", err)
	}
	src := &liveSource{}
	return &otoStream{s: s, src: src, p: s.ctx.NewPlayer(src)}, nil
}

type otoStream struct {
	s   *otoSink
	src *liveSource
	p   *oto.Player

	mu      sync.Mutex
	start   time.Time
	meter   meter
	preroll int
	closed  bool
}

func (st *otoStream) Write(pcm []byte) error {
	select {
	case <-st.s.turn.closed:
		return ErrClosed
	default:
	}
	if err := st.s.ctx.Err(); err != nil {
		return deviceError("audio output failed while playing", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return errStreamClosed
	}
	pcm = wholeSamples(pcm)
	if st.start.IsZero() {
		st.preroll = bytesIn(otoPeriod) &^ 1
		st.src.push(make([]byte, st.preroll))
		st.start = time.Now().Add(otoStreamLatency)
		st.p.Play()
	}
	st.src.push(pcm)
	st.meter.add(pcm)
	return nil
}

func (st *otoStream) Close(ctx context.Context) (Played, error) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return Played{}, errStreamClosed
	}
	st.closed = true
	st.mu.Unlock()
	defer st.s.turn.release()
	st.src.end()

	// What reached the mixer: pulled from the source, less the preroll and what the player
	// still holds.
	reached := func() int64 { return int64(st.src.pulled() - st.preroll - st.p.BufferedSize()) }
	stop := func(err error) (Played, error) {
		st.p.Pause()
		return st.meter.played(reached(), st.start, time.Now()), err
	}
	tick := time.NewTicker(otoPoll)
	defer tick.Stop()
	for st.p.IsPlaying() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return stop(ctx.Err())
		case <-st.s.turn.closed:
			return stop(ErrClosed)
		}
		if err := st.s.ctx.Err(); err != nil {
			return stop(deviceError("audio output failed while playing", err))
		}
	}
	if !st.start.IsZero() {
		// The mixer has taken the last sample; the device gets it with its next period and
		// plays it out of its buffer.
		drain := time.NewTimer(otoPeriod + otoDeviceBuffer)
		defer drain.Stop()
		select {
		case <-drain.C:
		case <-ctx.Done():
		case <-st.s.turn.closed:
		}
	}
	res := st.meter.played(reached(), st.start, time.Now())
	if err := st.p.Err(); err != nil {
		return res, deviceError("audio output failed while playing", err)
	}
	if err := st.s.ctx.Err(); err != nil {
		return res, deviceError("audio output failed while playing", err)
	}
	return res, nil
}

// liveSource is a stream's player source: it serves what was written so far, and nothing
// (not EOF) while it waits for more, so that oto's mixer plays silence instead of stopping.
type liveSource struct {
	mu    sync.Mutex
	queue []byte
	off   int
	total int
	done  bool
}

func (r *liveSource) push(pcm []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off > 0 && r.off >= len(r.queue)/2 { // keep the queue from growing with what was read
		r.queue = r.queue[:copy(r.queue, r.queue[r.off:])]
		r.off = 0
	}
	r.queue = append(r.queue, pcm...)
}

func (r *liveSource) end() {
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
}

func (r *liveSource) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off == len(r.queue) {
		if r.done {
			return 0, io.EOF
		}
		return 0, nil
	}
	n := copy(b, r.queue[r.off:])
	r.off += n
	r.total += n
	return n, nil
}

func (r *liveSource) pulled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}
