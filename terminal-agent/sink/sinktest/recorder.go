// Package sinktest has a sink for tests and benchmarks that records what was streamed to it
// and when: each write's PCM and wall time, as a horn would play it.
package sinktest

import (
	"context"
	"sync"
	"time"

	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink"
)

// Write is one stream Write: when it was handed over, when its first sample reached the
// output, and what. A write made while earlier audio still queues in the sink waits its
// turn, as on a device: Out is At, or when the audio written before it has played out.
type Write struct {
	At  time.Time
	Out time.Time
	PCM []byte
}

// Recorder is a null sink (paced like a speaker, cheap) whose streams are recorded. Its latency
// is Delay: a write at t sounds at t + Delay.
type Recorder struct {
	sink.Sink
	Delay time.Duration
	// KeepPCM keeps each write's samples; off, only the times are kept (benchmarks with
	// hundreds of recorders).
	KeepPCM bool

	mu     sync.Mutex
	writes []Write
}

// NewRecorder returns a recorder with latency delay that keeps PCM.
func NewRecorder(delay time.Duration) *Recorder {
	return &Recorder{Sink: sink.NewNull(), Delay: delay, KeepPCM: true}
}

func (r *Recorder) Latency() time.Duration { return r.Delay }

func (r *Recorder) Stream(ctx context.Context) (sink.Stream, error) {
	st, err := r.Sink.Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &recording{Stream: st, r: r}, nil
}

// Writes returns every write recorded so far.
func (r *Recorder) Writes() []Write {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Write(nil), r.writes...)
}

// PCM is everything written, end to end.
func (r *Recorder) PCM() []byte {
	var out []byte
	for _, w := range r.Writes() {
		out = append(out, w.PCM...)
	}
	return out
}

type recording struct {
	sink.Stream
	r     *Recorder
	until time.Time // when the audio written so far will have reached the output
}

func (s *recording) Write(pcm []byte) error {
	at := time.Now()
	w := Write{At: at, Out: at}
	if s.until.After(at) {
		w.Out = s.until
	}
	s.until = w.Out.Add(time.Duration(len(pcm)) * time.Second / wire.BytesPerSecond)
	if s.r.KeepPCM {
		w.PCM = append([]byte(nil), pcm...)
	}
	s.r.mu.Lock()
	s.r.writes = append(s.r.writes, w)
	s.r.mu.Unlock()
	return s.Stream.Write(pcm)
}
