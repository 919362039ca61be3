// Package sink is where a terminal agent's audio goes: the loudspeaker through oto/ALSA
// (OpenOto), or nowhere but at the pace of a real speaker (NewNull, for the fleet simulator).
//
// Every sink takes PCM in the system format (wire.SampleRate Hz, wire.Channels channel,
// signed 16-bit little-endian). A trailing odd byte, which cannot be a whole sample, is dropped.
package sink

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"time"

	"dalaba/proto/wire"
)

// Sink is where a terminal's audio goes.
type Sink interface {
	// Play plays pcm (system format) and returns when the device has played it or ctx ends.
	// Concurrent calls on one sink do not mix: they take turns, each waiting (while honouring
	// its ctx) for the one before to finish.
	Play(ctx context.Context, pcm []byte) (Played, error)
	// Stream opens live output, for audio that arrives as it is spoken. It takes the sink's
	// turn like Play (waiting, while honouring ctx, for a Play in progress) and holds it until
	// the stream is closed.
	Stream(ctx context.Context) (Stream, error)
	// Latency is how long after a stream Write hands audio over its first sample sounds, when
	// the stream has been kept fed: to make a sample sound at t, write it at t - Latency.
	Latency() time.Duration
	// Close stops any Play or Stream in progress (it returns ErrClosed) and refuses later ones.
	Close() error
}

// Stream is live output: each Write plays right after the one before.
type Stream interface {
	// Write queues pcm (system format) to play right after what was written before, and
	// returns without waiting for it to play. If everything written before has already played,
	// the device played silence meanwhile, and pcm sounds Latency after this Write.
	Write(pcm []byte) error
	// Close ends the stream: it waits until everything written has sounded (or, if ctx ends
	// first, stops at once), gives the sink back for the next Play or Stream, and reports what
	// went to the device. Played.Start is when the first sample sounded.
	Close(ctx context.Context) (Played, error)
}

// Played is what actually went to the device.
type Played struct {
	Bytes      int64     // PCM bytes (system format) that went to the device
	Start, End time.Time // when playing started and finished (or was stopped)
	Peak, RMS  float64   // 0..1 of full scale, over what was written
}

// Duration is how much audio Bytes is at the system format.
func (p Played) Duration() time.Duration {
	return time.Duration(p.Bytes * int64(time.Second) / wire.BytesPerSecond)
}

// ErrDevice is wrapped by every error that comes from the audio device failing
// (it cannot be opened, or it broke while playing).
var ErrDevice = errors.New("audio device failure")

// ErrClosed is returned by Play on a sink that has been closed, including a Play
// that was in progress when Close was called.
var ErrClosed = errors.New("sink: closed")

// bytesPerSample is one sample of one channel in the system format.
const bytesPerSample = 2

// wholeSamples drops a trailing partial sample frame.
func wholeSamples(pcm []byte) []byte {
	frame := bytesPerSample * wire.Channels
	return pcm[:len(pcm)/frame*frame]
}

// levels measures peak and RMS of system-format PCM, as fractions of full scale (32768).
func levels(pcm []byte) (peak, rms float64) {
	n := len(pcm) / bytesPerSample
	if n == 0 {
		return 0, 0
	}
	var maxAbs int
	var sumSq float64
	for i := 0; i < n; i++ {
		v := int(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		if v < 0 {
			v = -v
		}
		if v > maxAbs {
			maxAbs = v
		}
		f := float64(v)
		sumSq += f * f
	}
	return float64(maxAbs) / 32768, math.Sqrt(sumSq/float64(n)) / 32768
}

// meter accumulates Played's measures over a stream, write by write.
type meter struct {
	bytes int64
	peak  int
	sumSq float64
}

func (m *meter) add(pcm []byte) {
	pcm = wholeSamples(pcm)
	for i := 0; i+1 < len(pcm); i += bytesPerSample {
		v := int(int16(binary.LittleEndian.Uint16(pcm[i:])))
		if v < 0 {
			v = -v
		}
		m.peak = max(m.peak, v)
		m.sumSq += float64(v) * float64(v)
	}
	m.bytes += int64(len(pcm))
}

// played reports the first n of the bytes measured (n < bytes when a stream was cut short;
// peak and RMS still cover everything written).
func (m *meter) played(n int64, start, end time.Time) Played {
	p := Played{Bytes: max(0, min(n, m.bytes)), Start: start, End: end}
	p.Bytes -= p.Bytes % (bytesPerSample * wire.Channels)
	if samples := m.bytes / bytesPerSample; samples > 0 {
		p.Peak = float64(m.peak) / 32768
		p.RMS = math.Sqrt(m.sumSq/float64(samples)) / 32768
	}
	return p
}

// played fills in a Played for the first n bytes of pcm.
func played(pcm []byte, n int, start, end time.Time) Played {
	n = max(0, min(n, len(pcm)))
	n = len(wholeSamples(pcm[:n]))
	peak, rms := levels(pcm[:n])
	return Played{Bytes: int64(n), Start: start, End: end, Peak: peak, RMS: rms}
}

// turn lets one Play at a time use a sink, and lets Close stop it.
type turn struct {
	busy      chan struct{} // holds a token while a Play runs
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

func newTurn() *turn {
	return &turn{busy: make(chan struct{}, 1), closed: make(chan struct{})}
}

// acquire waits for the sink to be free. On success the caller must call release.
func (t *turn) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-t.closed:
		return ErrClosed
	default:
	}
	select {
	case t.busy <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.closed:
		return ErrClosed
	}
}

func (t *turn) release() { <-t.busy }

// close marks the sink closed; it reports false if it already was.
func (t *turn) close() (first bool) {
	t.closeOnce.Do(func() {
		close(t.closed)
		first = true
	})
	return first
}
