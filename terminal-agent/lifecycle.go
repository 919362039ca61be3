package agent

// The playback lifecycle of one broadcast on this terminal:
//
//	command ──> received ──fetch──> fetched ──start──> playing ──end──> done
//	               │                   │                   │
//	               ├─ expired          ├─ bad_audio        ├─ audio_device
//	               └─ fetch_failed     └─ expired          └─ interrupted
//	                                                          (agent stopping)
//
// Every arrow sends a receipt. A broadcast id already seen is ignored (QoS 1 may deliver a
// command twice), so a broadcast plays at most once per terminal.

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	"dalaba/proto/dalabapb"
	"dalaba/terminal-agent/sink"
)

type player struct {
	opts   Options
	audio  dalabapb.AudioServiceClient
	log    *slog.Logger
	report func(*dalabapb.Receipt)
	volume *level

	mu      sync.Mutex
	seen    map[string]time.Time // broadcast id -> valid until; forgotten after that
	stopped bool
	queue   chan *dalabapb.PlayCommand
	done    chan struct{} // closed once run has given every command taken a final receipt
}

func newPlayer(opts Options, conn grpc.ClientConnInterface, report func(*dalabapb.Receipt), volume *level) *player {
	box := &outbox{send: report}
	return &player{opts: opts, audio: dalabapb.NewAudioServiceClient(conn), log: opts.Logger, report: box.report, volume: volume,
		seen: map[string]time.Time{}, queue: make(chan *dalabapb.PlayCommand, queueDepth), done: make(chan struct{})}
}

// enqueue takes a command from the MQTT session. It runs on paho's goroutine: no waiting here
// beyond the queue.
func (p *player) enqueue(cmd *dalabapb.Command) {
	play := cmd.GetPlay()
	if play == nil || play.GetBroadcastId() == "" {
		p.log.Warn("rejected command: not a play command with a broadcast id")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return // not acknowledged to anyone: the broker redelivers it to the next session
	}
	if _, dup := p.seen[play.BroadcastId]; dup {
		p.log.Info("duplicate command ignored", "broadcast", play.BroadcastId)
		return
	}
	p.forgetExpired(time.Now())
	select {
	case p.queue <- play:
		p.seen[play.BroadcastId] = time.UnixMilli(play.ValidUntilUnixMs)
	default:
		p.send(play, dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED, 0, "")
		p.fail(play, dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "too many broadcasts queued")
	}
}

// queueDepth bounds broadcasts waiting to play on one terminal.
const queueDepth = 64

// forgetExpired drops ids whose window has closed: a redelivery after that fails as expired
// anyway. Caller holds mu.
func (p *player) forgetExpired(now time.Time) {
	for id, until := range p.seen {
		if now.Sub(until) > time.Minute {
			delete(p.seen, id)
		}
	}
}

// run plays queued broadcasts one after another until ctx ends.
func (p *player) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.stopped = true
			p.mu.Unlock()
			p.drain()
			close(p.done)
			return
		case play := <-p.queue:
			p.play(ctx, play)
		}
	}
}

// drain fails what is still queued when the agent stops.
func (p *player) drain() {
	for {
		select {
		case play := <-p.queue:
			p.fail(play, dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "agent stopped before playing")
		default:
			return
		}
	}
}

// wait returns once every command taken has reached a final receipt.
func (p *player) wait() { <-p.done }

func (p *player) play(ctx context.Context, cmd *dalabapb.PlayCommand) {
	log := p.log.With("broadcast", cmd.BroadcastId)
	p.send(cmd, dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED, 0, "")
	if expired(cmd) {
		p.fail(cmd, dalabapb.FailureReason_FAILURE_REASON_EXPIRED, "received after the validity window")
		return
	}
	pcm, err := p.fetch(ctx, cmd)
	if err != nil {
		reason := dalabapb.FailureReason_FAILURE_REASON_FETCH_FAILED
		if errors.Is(err, errBadAudio) {
			reason = dalabapb.FailureReason_FAILURE_REASON_BAD_AUDIO
		}
		log.Warn("fetch failed", "err", err)
		p.fail(cmd, reason, err.Error())
		return
	}
	p.send(cmd, dalabapb.ReceiptState_RECEIPT_STATE_FETCHED, 0, "")
	if expired(cmd) {
		p.fail(cmd, dalabapb.FailureReason_FAILURE_REASON_EXPIRED, "fetched after the validity window")
		return
	}
	p.send(cmd, dalabapb.ReceiptState_RECEIPT_STATE_PLAYING, 0, "")
	vol := p.volume.Get()
	played, err := p.opts.Sink.Play(ctx, apply(pcm, vol))
	proof := playReport(played, vol)
	switch {
	case err == nil:
		log.Info("played", "bytes", played.Bytes, "seconds", played.Duration().Seconds(), "peak", played.Peak, "volume", vol)
		p.report(&dalabapb.Receipt{BroadcastId: cmd.BroadcastId, State: dalabapb.ReceiptState_RECEIPT_STATE_DONE, Played: proof})
	case ctx.Err() != nil || errors.Is(err, sink.ErrClosed):
		p.report(&dalabapb.Receipt{BroadcastId: cmd.BroadcastId, State: dalabapb.ReceiptState_RECEIPT_STATE_FAILED,
			Reason: dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, Detail: "agent stopped while playing", Played: proof})
	default:
		log.Error("audio device failed", "err", err)
		p.report(&dalabapb.Receipt{BroadcastId: cmd.BroadcastId, State: dalabapb.ReceiptState_RECEIPT_STATE_FAILED,
			Reason: dalabapb.FailureReason_FAILURE_REASON_AUDIO_DEVICE, Detail: err.Error(), Played: proof})
	}
}

// playReport is the proof of play sent with the final receipt. Peak and RMS are measured on
// what went to the device, so they include the volume.
func playReport(p sink.Played, volume int32) *dalabapb.PlayReport {
	r := &dalabapb.PlayReport{Bytes: p.Bytes, DurationMs: p.Duration().Milliseconds(), Peak: p.Peak, Rms: p.RMS, Volume: volume}
	if !p.Start.IsZero() {
		r.StartedUnixMs, r.EndedUnixMs = p.Start.UnixMilli(), p.End.UnixMilli()
	}
	return r
}

func expired(cmd *dalabapb.PlayCommand) bool {
	return time.Now().UnixMilli() > cmd.ValidUntilUnixMs
}

func (p *player) send(cmd *dalabapb.PlayCommand, st dalabapb.ReceiptState, reason dalabapb.FailureReason, detail string) {
	p.report(&dalabapb.Receipt{BroadcastId: cmd.BroadcastId, State: st, Reason: reason, Detail: detail})
}

func (p *player) fail(cmd *dalabapb.PlayCommand, reason dalabapb.FailureReason, detail string) {
	p.send(cmd, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, reason, detail)
}
