package agent

import (
	"context"
	"sync"
	"sync/atomic"

	"dalaba/proto/dalabapb"
	"dalaba/terminal-agent/sink"
)

// activity knows whether the terminal is making sound, for the heartbeat's work state. It
// watches the sink rather than the playback lifecycle: whatever plays (a broadcast, a
// self-test tone) goes through Sink.Play, so the lifecycle needs no hook of its own.
type activity struct{ plays atomic.Int32 }

// track returns s with every Play counted while it runs (including its wait for its turn,
// which only happens while something else plays).
func (a *activity) track(s sink.Sink) sink.Sink { return &trackedSink{Sink: s, a: a} }

func (a *activity) playing() bool { return a.plays.Load() > 0 }

type trackedSink struct {
	sink.Sink
	a *activity
}

func (t *trackedSink) Play(ctx context.Context, pcm []byte) (sink.Played, error) {
	t.a.plays.Add(1)
	defer t.a.plays.Add(-1)
	return t.Sink.Play(ctx, pcm)
}

// Stream counts a live stream from its opening to its close.
func (t *trackedSink) Stream(ctx context.Context) (sink.Stream, error) {
	t.a.plays.Add(1)
	st, err := t.Sink.Stream(ctx)
	if err != nil {
		t.a.plays.Add(-1)
		return nil, err
	}
	return &trackedStream{Stream: st, a: t.a}, nil
}

type trackedStream struct {
	sink.Stream
	a    *activity
	once sync.Once
}

func (t *trackedStream) Close(ctx context.Context) (sink.Played, error) {
	defer t.once.Do(func() { t.a.plays.Add(-1) })
	return t.Stream.Close(ctx)
}

// workState is what the GD/J 089 return channel calls the terminal's state: playing while it
// plays (a fault does not stop a horn that still sounds), fault while idle with any fault.
func workState(playing bool, faults int) dalabapb.WorkState {
	switch {
	case playing:
		return dalabapb.WorkState_WORK_STATE_PLAYING
	case faults > 0:
		return dalabapb.WorkState_WORK_STATE_FAULT
	}
	return dalabapb.WorkState_WORK_STATE_IDLE
}
