package agent

// The playback lifecycle of one broadcast on this terminal:
//
//	command ──> received ──fetch──> fetched ──its turn──> playing ──end──> done
//	               │                   │                    │  ▲
//	               ├─ expired          ├─ bad_audio         │  └─ resumes (rewound 2 s)
//	               ├─ invalid          ├─ expired           ├─> preempted ─┘ or expired
//	               └─ fetch_failed     └─ cancelled         ├─ audio_device
//	                                                        ├─ cancelled (stop command)
//	                                                        ├─ done at its end time
//	                                                        └─ interrupted (agent stopping)
//
// Every arrow sends a receipt. A broadcast id already seen is ignored (QoS 1 may deliver a
// command twice), so a broadcast plays at most once per terminal; a stop for an id not seen
// yet is remembered, so a play command that arrives after it never plays.
//
// The arbiter (arbiter.go) decides what has the horn: the highest priority level waiting,
// equal levels in arrival order. A higher level cuts off what plays at once; proto/priority
// says what becomes of the cut-off broadcast.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/priority"
	"dalaba/terminal-agent/sink"
)

// timeline is the terminal's view of the controller's clock (clock.Estimator).
type timeline interface {
	ToLocal(controller time.Time) time.Time
	ControllerNow() time.Time
}

type player struct {
	log     *slog.Logger
	report  func(*dalabapb.Receipt)
	volume  *level
	sink    sink.Sink
	live    LivePlayer
	clock   timeline
	now     func() time.Time // the agent's clock: real time + offset
	offset  time.Duration    // simulated clock offset (Options.ClockOffset)
	latency time.Duration    // the sink's output latency: a sample sounds this long after Play takes it
	fetch   func(ctx context.Context, cmd *dalabapb.PlayCommand) ([]byte, error)

	mu      sync.Mutex
	inbox   []*dalabapb.Command
	stopped bool
	wake    chan struct{} // something is in the inbox
	done    chan struct{} // closed once run has given every command taken a final receipt
	gone    chan struct{} // closed when run returns: late goroutine results go nowhere

	// Owned by run.
	seen      map[string]time.Time         // broadcast id -> forget after (controller clock)
	finals    map[string]*dalabapb.Receipt // seen ids that finished -> their final receipt (finals.go)
	stopAhead map[string]time.Time         // stopped before its command came -> forget after
	waiting   []*job
	current   *job     // has the horn: playing, waiting for its instant, or between repeats
	seg       *segment // current's segment
	arrivals  int64
	cuts      int64
	fetched   chan fetchResult
	segDone   chan segResult
	sweep     *time.Timer
}

func newPlayer(opts Options, report func(*dalabapb.Receipt), volume *level, clock timeline, now func() time.Time,
	fetch func(context.Context, *dalabapb.PlayCommand) ([]byte, error)) *player {
	box := &outbox{send: report, now: now}
	p := &player{log: opts.Logger, report: box.report, volume: volume, sink: opts.Sink, live: opts.Live,
		clock: clock, now: now, offset: opts.ClockOffset, latency: max(0, opts.Sink.Latency()), fetch: fetch,
		wake: make(chan struct{}, 1), done: make(chan struct{}), gone: make(chan struct{}),
		seen: map[string]time.Time{}, finals: map[string]*dalabapb.Receipt{}, stopAhead: map[string]time.Time{},
		fetched: make(chan fetchResult), segDone: make(chan segResult)}
	p.report = p.keepFinals(box.report)
	p.sweep = time.NewTimer(time.Hour)
	p.sweep.Stop()
	return p
}

// queueDepth bounds broadcasts waiting to play on one terminal.
const queueDepth = 64

// stopMemory is how long a stop for a broadcast not seen yet is remembered.
const stopMemory = time.Hour

// enqueue takes a command from the MQTT session. It runs on paho's goroutine: no waiting here.
func (p *player) enqueue(cmd *dalabapb.Command) {
	switch {
	case cmd.GetPlay() != nil && cmd.GetPlay().GetBroadcastId() != "":
	case cmd.GetStop() != nil && cmd.GetStop().GetBroadcastId() != "":
	default:
		p.log.Warn("rejected command: neither a play nor a stop command with a broadcast id")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.inbox = append(p.inbox, cmd)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// wait returns once every command taken has reached a final receipt.
func (p *player) wait() { <-p.done }

// run arbitrates the horn until ctx ends.
func (p *player) run(ctx context.Context) {
	defer close(p.done)
	for {
		p.schedule(ctx)
		select {
		case <-ctx.Done():
			p.shutdown()
			return
		case <-p.wake:
			p.mu.Lock()
			in := p.inbox
			p.inbox = nil
			p.mu.Unlock()
			for _, c := range in {
				if play := c.GetPlay(); play != nil {
					p.arrive(play)
				} else {
					p.stop(c.GetStop())
				}
			}
		case r := <-p.fetched:
			p.onFetched(r)
		case r := <-p.segDone:
			p.onSegment(ctx, r, false)
		case <-p.sweep.C:
			p.expireWaiting()
		}
	}
}

// arrive takes a new play command.
func (p *player) arrive(cmd *dalabapb.PlayCommand) {
	id := cmd.BroadcastId
	if _, dup := p.seen[id]; dup {
		if !p.reportAgain(id) {
			p.log.Info("duplicate command ignored", "broadcast", id)
		}
		return
	}
	p.forget()
	p.seen[id] = time.UnixMilli(max(cmd.ValidUntilUnixMs, cmd.EndUnixMs))
	p.send(cmd, dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED, 0, "", nil)
	if _, ok := p.stopAhead[id]; ok {
		delete(p.stopAhead, id)
		p.send(cmd, dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED, 0, "stopped before its command arrived", nil)
		return
	}
	level, err := checkCommand(cmd)
	if err == nil && cmd.LiveId != "" && p.live == nil {
		err = errors.New(errNoLive)
	}
	if err != nil {
		p.log.Warn("rejected play command", "broadcast", id, "err", err)
		p.fail(cmd, dalabapb.FailureReason_FAILURE_REASON_UNSPECIFIED, err.Error(), nil)
		return
	}
	now := p.clock.ControllerNow()
	switch {
	case now.UnixMilli() > cmd.ValidUntilUnixMs:
		p.fail(cmd, dalabapb.FailureReason_FAILURE_REASON_EXPIRED, "received after the validity window", nil)
		return
	case cmd.EndUnixMs != 0 && now.UnixMilli() >= cmd.EndUnixMs:
		p.fail(cmd, dalabapb.FailureReason_FAILURE_REASON_EXPIRED, "received after its end time", nil)
		return
	case len(p.waiting) >= queueDepth:
		p.fail(cmd, dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "too many broadcasts queued", nil)
		return
	}
	p.arrivals++
	p.waiting = append(p.waiting, &job{cmd: cmd, level: level, order: p.arrivals})
}

// checkCommand validates what the agent acts on and returns the broadcast's level.
func checkCommand(cmd *dalabapb.PlayCommand) (priority.Level, error) {
	level := priority.Level(cmd.Priority)
	if level == 0 {
		level = priority.Routine // from a controller that predates the ladder
	}
	switch {
	case !level.Valid():
		return 0, fmt.Errorf("priority %d is not on the priority ladder (proto/priority)", cmd.Priority)
	case cmd.Repeat < 0:
		return 0, fmt.Errorf("repeat %d: want 0 or more plays", cmd.Repeat)
	case cmd.RepeatIntervalMs < 0:
		return 0, fmt.Errorf("repeat interval %d ms: want 0 or more", cmd.RepeatIntervalMs)
	case cmd.ForcedVolume < 0 || cmd.ForcedVolume > 100:
		return 0, fmt.Errorf("forced volume %d: want 1 to 100, or 0 for the terminal's own", cmd.ForcedVolume)
	case cmd.LiveId == "" && cmd.ProgramBytes <= 0:
		return 0, fmt.Errorf("program of %d bytes: want a program", cmd.ProgramBytes)
	}
	return level, nil
}

// forget drops ids whose window closed over a minute ago (a redelivery after that fails as
// expired anyway), and stops remembered for too long.
func (p *player) forget() {
	now := p.clock.ControllerNow()
	for id, until := range p.seen {
		if now.Sub(until) > time.Minute && !p.active(id) {
			delete(p.seen, id)
			delete(p.finals, id)
		}
	}
	for id, until := range p.stopAhead {
		if now.After(until) {
			delete(p.stopAhead, id)
		}
	}
}

func (p *player) active(id string) bool {
	if p.current != nil && p.current.id() == id {
		return true
	}
	return p.find(id) != nil
}

func (p *player) find(id string) *job {
	for _, j := range p.waiting {
		if j.id() == id {
			return j
		}
	}
	return nil
}

// stop cancels a broadcast wherever it is.
func (p *player) stop(st *dalabapb.StopCommand) {
	id, why := st.BroadcastId, st.Reason
	if why == "" {
		why = "stopped by the controller"
	}
	switch j := p.find(id); {
	case p.current != nil && p.current.id() == id:
		p.current.stopReason = why
		p.seg.cancel(errStopped) // onSegment sends cancelled with the proof
	case j != nil:
		p.remove(j)
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED, 0, why)
	case p.seen[id].IsZero():
		p.stopAhead[id] = p.clock.ControllerNow().Add(stopMemory)
		p.log.Info("stop for a broadcast not seen yet: it will not play", "broadcast", id)
	default:
		p.log.Info("stop for a broadcast already finished", "broadcast", id)
	}
}

func (p *player) remove(j *job) {
	for i, w := range p.waiting {
		if w == j {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			return
		}
	}
}

// finish sends a job's final receipt with its proof, and forgets its audio.
func (p *player) finish(j *job, st dalabapb.ReceiptState, reason dalabapb.FailureReason, detail string) {
	if j.fetching != nil {
		j.fetching()
		j.fetching = nil
	}
	j.finished, j.pcm = true, nil
	proof := j.proof.report(p.offset)
	p.report(&dalabapb.Receipt{BroadcastId: j.id(), State: st, Reason: reason, Detail: detail, Played: proof})
	args := []any{"broadcast", j.id(), "state", st, "level", j.level}
	if proof != nil {
		args = append(args, "bytes", proof.Bytes, "peak", proof.Peak, "volume", proof.Volume, "late_us", proof.LateUs)
	}
	if reason != 0 {
		args = append(args, "reason", reason, "detail", detail)
	}
	p.log.Info("broadcast finished", args...)
}

func (p *player) send(cmd *dalabapb.PlayCommand, st dalabapb.ReceiptState, reason dalabapb.FailureReason, detail string, proof *dalabapb.PlayReport) {
	p.report(&dalabapb.Receipt{BroadcastId: cmd.BroadcastId, State: st, Reason: reason, Detail: detail, Played: proof})
}

func (p *player) fail(cmd *dalabapb.PlayCommand, reason dalabapb.FailureReason, detail string, proof *dalabapb.PlayReport) {
	p.send(cmd, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, reason, detail, proof)
}

// shutdown gives everything taken a final receipt when the agent stops.
func (p *player) shutdown() {
	p.mu.Lock()
	p.stopped = true
	in := p.inbox
	p.inbox = nil
	p.mu.Unlock()
	if p.seg != nil {
		p.onSegment(nil, <-p.segDone, true) // ctx has ended: the segment returns at once
	}
	for _, j := range p.waiting {
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "agent stopped before playing")
	}
	p.waiting = nil
	for _, c := range in {
		if play := c.GetPlay(); play != nil {
			if _, dup := p.seen[play.BroadcastId]; !dup {
				p.fail(play, dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "agent stopped before playing", nil)
			}
		}
	}
	p.sweep.Stop()
	close(p.gone)
}

// expired reports whether the job may no longer start (or resume).
func (p *player) expired(j *job) bool {
	return p.clock.ControllerNow().UnixMilli() > j.cmd.ValidUntilUnixMs
}

// ended reports whether the job's end time has come.
func (p *player) ended(j *job) bool {
	return j.cmd.EndUnixMs != 0 && p.clock.ControllerNow().UnixMilli() >= j.cmd.EndUnixMs
}

// finishEnded closes a job whose end time came: done with what it played, as ordered, or
// expired if it never got to play.
func (p *player) finishEnded(j *job) {
	if j.proof.played() {
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_DONE, 0, "")
		return
	}
	p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_EXPIRED, "its end time came before it could play")
}

// expireWaiting closes waiting jobs whose window or end time has passed, and arms the sweep
// for the next one.
func (p *player) expireWaiting() {
	var next time.Time
	for _, j := range append([]*job(nil), p.waiting...) {
		switch {
		case p.ended(j):
			p.remove(j)
			p.finishEnded(j)
			continue
		case p.expired(j):
			p.remove(j)
			why := "its validity window closed while it waited"
			if j.started {
				why = "its validity window closed while it was preempted"
			}
			p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_EXPIRED, why)
			continue
		}
		for _, ms := range []int64{j.cmd.ValidUntilUnixMs + 1, j.cmd.EndUnixMs} {
			if t := time.UnixMilli(ms); ms != 0 && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	p.sweep.Stop()
	if !next.IsZero() {
		p.sweep.Reset(max(time.Millisecond, p.clock.ToLocal(next).Sub(p.now())))
	}
}
