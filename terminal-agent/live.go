package agent

import (
	"context"
	"errors"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/terminal-agent/sink"
)

// LivePlayer plays a live shout (a PlayCommand with live_id) through the terminal's sink: it
// listens to the controller's frames, starts each at its play-at instant and returns when the
// shout ends, the link drops or ctx ends.
//
// It returns what went to the device and how many frames were concealed. The arbiter reads the
// outcome as:
//   - nil: the speaker stopped and the stream ended cleanly (done);
//   - an error wrapping ErrStreamLost (this package's or terminal-agent/live's): the link
//     dropped before the end (failed/stream_lost); implementations must wrap one of them;
//   - ctx ended: the arbiter cut it (preempted or stopped; it knows which);
//   - any other error: the audio device failed.
type LivePlayer interface {
	PlayLive(ctx context.Context, cmd *dalabapb.PlayCommand, volume int32) (sink.Played, int32, error)
}

// ErrStreamLost is wrapped by a LivePlayer's error when the live stream broke off before the
// speaker stopped.
var ErrStreamLost = errors.New("live stream lost")

// errNoLive is why a live command fails on an agent built without a live player.
const errNoLive = "this terminal has no live player: live shouts cannot play here"

type (
	broadcastKey struct{}
	leadInKey    struct{}
)

// BroadcastID returns the broadcast a sink's Play is playing, from the ctx the agent passes to
// Sink.Play (and LivePlayer.PlayLive); "" for anything else (a self-test tone). For sinks
// that record what they played, such as the fleet simulator's.
func BroadcastID(ctx context.Context) string {
	id, _ := ctx.Value(broadcastKey{}).(string)
	return id
}

// WithBroadcastID returns ctx carrying the broadcast id that BroadcastID reads.
func WithBroadcastID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, broadcastKey{}, id)
}

// LeadIn returns how much silence the agent put before the broadcast's first sample in this
// Play (from the ctx the agent passes to Sink.Play): a synchronised start is handed to the
// sink a few ms early with the rest of the way as silence, so the program's first sample
// sounds at Played.Start + LeadIn. For sinks that record when programs started.
func LeadIn(ctx context.Context) time.Duration {
	d, _ := ctx.Value(leadInKey{}).(time.Duration)
	return d
}

// WithLeadIn returns ctx carrying the lead-in LeadIn reads: the agent's own Plays have it; tests
// of sinks that record starts set it.
func WithLeadIn(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, leadInKey{}, d)
}
