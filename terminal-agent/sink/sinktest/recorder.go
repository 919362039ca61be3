// Package sinktest has a sink for tests and benchmarks that records what was streamed to it
// and when: each write's PCM and wall time, as a horn would play it.
package sinktest

import (
	"context"
	"slices"
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
//
// What it records holds no pointers (times as nanoseconds, samples in one buffer), so that
// hundreds of recorders in a benchmark add nothing for the garbage collector to scan: a heap of
// time.Time values and slices made its mark phase stall the players it was measuring.
type Recorder struct {
	sink.Sink
	Delay time.Duration
	// KeepPCM keeps each write's samples; off, only the times are kept (benchmarks with
	// hundreds of recorders).
	KeepPCM bool

	mu     sync.Mutex
	writes []record
	pcm    []byte // every write's samples, end to end, when KeepPCM
}

// record is one Write without pointers: times in Unix nanoseconds, samples as a range of pcm.
type record struct {
	at, out  int64
	from, to int
}

// NewRecorder returns a recorder with latency delay that keeps PCM.
func NewRecorder(delay time.Duration) *Recorder {
	return &Recorder{Sink: sink.NewNull(), Delay: delay, KeepPCM: true}
}

// Reserve makes room for n more writes of size bytes each, so that recording does not grow
// its buffers while a benchmark measures.
func (r *Recorder) Reserve(n, size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = slices.Grow(r.writes, n)
	if r.KeepPCM {
		r.pcm = slices.Grow(r.pcm, n*size)
	}
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
	out := make([]Write, len(r.writes))
	for i, w := range r.writes {
		out[i] = Write{At: time.Unix(0, w.at), Out: time.Unix(0, w.out)}
		if w.to > w.from {
			out[i].PCM = slices.Clone(r.pcm[w.from:w.to])
		}
	}
	return out
}

// PCM is everything written, end to end.
func (r *Recorder) PCM() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pcm)
}

type recording struct {
	sink.Stream
	r     *Recorder
	until time.Time // when the audio written so far will have reached the output
}

func (s *recording) Write(pcm []byte) error {
	at := time.Now()
	out := at
	if s.until.After(at) {
		out = s.until
	}
	s.until = out.Add(time.Duration(len(pcm)) * time.Second / wire.BytesPerSecond)
	s.r.mu.Lock()
	w := record{at: at.UnixNano(), out: out.UnixNano(), from: len(s.r.pcm)}
	if s.r.KeepPCM {
		s.r.pcm = append(s.r.pcm, pcm...)
	}
	w.to = len(s.r.pcm)
	s.r.writes = append(s.r.writes, w)
	s.r.mu.Unlock()
	return s.Stream.Write(pcm)
}
