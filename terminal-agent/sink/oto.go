package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ebitengine/oto/v3"

	"dalaba/proto/wire"
)

const (
	// otoDeviceBuffer is the ALSA buffer oto asks for (two periods). A program's last sample
	// is handed to the device when the player finishes; it is heard at most this much later,
	// so Play waits this long before reporting it played.
	otoDeviceBuffer = 100 * time.Millisecond
	// otoPlayerBuffer is how much PCM an oto player reads ahead of the mixer (oto's default).
	// It does not delay the end of Play (the player finishes when its last sample is mixed),
	// but it must be well over the device buffer and the worst scheduling delay: whenever the
	// device takes more than the player has buffered (a burst of periods, or oto's reader
	// goroutine starved of CPU), oto's mixer fills the rest with silence, a gap in the program.
	otoPlayerBuffer = 500 * time.Millisecond
	// otoPoll is how often Play checks whether the player has finished.
	otoPoll = 5 * time.Millisecond
	// otoReadyTimeout bounds the wait for oto to open the device.
	otoReadyTimeout = 10 * time.Second
)

// oto allows one context per process, ever: even one whose device failed to open cannot be
// replaced. otoState remembers it so that OpenOto can explain instead of failing obscurely.
var otoState struct {
	sync.Mutex
	ctx     *oto.Context // the process's oto context, once opened successfully
	openErr error        // why the first (and only possible) open failed
	inUse   bool         // an open Sink currently owns ctx
}

type otoSink struct {
	ctx  *oto.Context
	turn *turn
}

// OpenOto opens the default audio output (ALSA "default" on Linux) through oto at the system
// format. Device failures wrap ErrDevice.
//
// Play returns (and Played.End is) 100 ms, the ALSA buffer it asks for, after the last
// sample was handed to ALSA, which is about when a sound card has played it. Anything past
// ALSA (a pipe, a network speaker) adds its own latency, which oto cannot see.
//
// Only one oto sink may be open in a process at a time (oto allows one context per process):
// a second OpenOto while the first is open returns an error. After Close, OpenOto reuses the
// same device. If the device could not be opened, it cannot be retried in the same process.
func OpenOto() (Sink, error) {
	otoState.Lock()
	defer otoState.Unlock()

	switch {
	case otoState.inUse:
		return nil, errors.New("sink: the oto audio output is already open in this process; " +
			"oto allows only one per process, so share that Sink (or Close it first)")
	case otoState.openErr != nil:
		return nil, fmt.Errorf("sink: oto cannot retry opening the audio output in the same process "+
			"(one context per process); the first attempt failed: %w", otoState.openErr)
	case otoState.ctx == nil:
		ctx, err := openOtoContext()
		if err != nil {
			otoState.openErr = err
			return nil, err
		}
		otoState.ctx = ctx
	}
	otoState.inUse = true
	return &otoSink{ctx: otoState.ctx, turn: newTurn()}, nil
}

func openOtoContext() (*oto.Context, error) {
	ctx, ready, err := oto.NewContext(&oto.NewContextOptions{
		SampleRate:   wire.SampleRate,
		ChannelCount: wire.Channels,
		Format:       oto.FormatSignedInt16LE,
		BufferSize:   otoDeviceBuffer,
	})
	if err != nil {
		// Someone else in this process created an oto context behind our back.
		return nil, deviceError("audio output could not be opened", err)
	}
	select {
	case <-ready:
	case <-time.After(otoReadyTimeout):
		return nil, deviceError("audio output could not be opened",
			fmt.Errorf("oto did not become ready within %v", otoReadyTimeout))
	}
	// NewContext succeeds even without a usable device; the failure only shows here.
	if err := ctx.Err(); err != nil {
		return nil, deviceError("audio output could not be opened", err)
	}
	return ctx, nil
}

// deviceError wraps both ErrDevice and the underlying error.
func deviceError(what string, err error) error {
	return fmt.Errorf("sink: %s: %w (%w)", what, err, ErrDevice)
}

func (s *otoSink) Play(ctx context.Context, pcm []byte) (Played, error) {
	if err := s.turn.acquire(ctx); err != nil {
		return Played{}, err
	}
	defer s.turn.release()

	if err := s.ctx.Err(); err != nil {
		return Played{}, deviceError("audio output failed", err)
	}
	pcm = wholeSamples(pcm)
	if len(pcm) == 0 {
		now := time.Now()
		return Played{Start: now, End: now}, nil
	}

	src := &pullCounter{pcm: pcm}
	p := s.ctx.NewPlayer(src)
	frame := bytesPerSample * wire.Channels
	p.SetBufferSize(max(frame, bytesIn(otoPlayerBuffer)/frame*frame))

	// stop pauses the player and reports what reached the mixer: pulled minus still buffered.
	// (In oto v3.4 Player.Close is a no-op; the player is released by a GC cleanup.)
	stop := func(start time.Time, err error) (Played, error) {
		p.Pause()
		end := time.Now()
		return played(pcm, src.pulled()-p.BufferedSize(), start, end), err
	}

	tick := time.NewTicker(otoPoll)
	defer tick.Stop()
	start := time.Now()
	p.Play()
	for p.IsPlaying() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return stop(start, ctx.Err())
		case <-s.turn.closed:
			return stop(start, ErrClosed)
		}
		if err := s.ctx.Err(); err != nil {
			// The device broke: oto stops pulling, and the player would never finish.
			return stop(start, deviceError("audio output failed while playing", err))
		}
	}
	if err := p.Err(); err != nil {
		return played(pcm, src.pulled(), start, time.Now()), fmt.Errorf("sink: playing: %w", err)
	}
	// The last sample is in the device's buffer now; let it drain. The whole program has gone
	// to the device, so if ctx ends meanwhile it is not an error: just stop waiting.
	drain := time.NewTimer(otoDeviceBuffer)
	defer drain.Stop()
	select {
	case <-drain.C:
	case <-ctx.Done():
	case <-s.turn.closed:
	}
	res := played(pcm, src.pulled(), start, time.Now())
	if err := s.ctx.Err(); err != nil {
		return res, deviceError("audio output failed while playing", err)
	}
	return res, nil
}

// Close stops a Play in progress and releases the sink so that OpenOto may be called again.
// The oto context itself stays open (oto cannot close it), writing silence to the device.
func (s *otoSink) Close() error {
	if s.turn.close() {
		otoState.Lock()
		otoState.inUse = false
		otoState.Unlock()
	}
	return nil
}

// pullCounter is the player's source: it serves pcm and counts what oto has pulled.
// oto reads it from its own goroutines.
type pullCounter struct {
	mu  sync.Mutex
	pcm []byte
	off int
}

func (r *pullCounter) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off >= len(r.pcm) {
		return 0, io.EOF
	}
	n := copy(b, r.pcm[r.off:])
	r.off += n
	return n, nil
}

func (r *pullCounter) pulled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.off
}
