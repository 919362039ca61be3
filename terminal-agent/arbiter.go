package agent

import (
	"context"
	"errors"
	"math"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/live"
	"dalaba/terminal-agent/sink"
)

// Why the arbiter ends a segment early (the cause of its context).
var (
	errPreempted = errors.New("preempted by a higher priority")
	errStopped   = errors.New("stopped")
	errEnded     = errors.New("end time reached")
)

// best is the job that should have the horn next: the highest level, then a cut-off job
// before new ones, then arrival order.
func (p *player) best() *job {
	var b *job
	for _, j := range p.waiting {
		if b == nil || j.level > b.level || (j.level == b.level && j.order < b.order) {
			b = j
		}
	}
	return b
}

// schedule acts on the arbiter's state after every event: it cuts off what plays when
// something higher waits, fetches what plays next, and starts it when the horn is free.
func (p *player) schedule(ctx context.Context) {
	p.expireWaiting()
	for {
		b := p.best()
		if b == nil {
			return
		}
		if p.current != nil {
			if b.level.Preempts(p.current.level) && !p.seg.cutting {
				p.seg.cutting = true
				p.seg.cancel(errPreempted) // onSegment puts it back and the horn frees
			}
		}
		if !b.ready() {
			if b.fetching == nil {
				p.startFetch(ctx, b)
			}
			return // strict priority: nothing lower plays while the next one fetches
		}
		if p.current != nil || !p.start(ctx, b) {
			return
		}
	}
}

type fetchResult struct {
	job *job
	pcm []byte
	err error
}

func (p *player) startFetch(ctx context.Context, j *job) {
	fctx, cancel := context.WithCancel(ctx)
	j.fetching = cancel
	go func() {
		pcm, err := p.fetch(fctx, j.cmd)
		select {
		case p.fetched <- fetchResult{j, pcm, err}:
		case <-p.gone:
		}
	}()
}

func (p *player) onFetched(r fetchResult) {
	j := r.job
	if j.finished {
		return // stopped or expired meanwhile
	}
	j.fetching()
	j.fetching = nil
	if r.err != nil {
		reason := dalabapb.FailureReason_FAILURE_REASON_FETCH_FAILED
		if errors.Is(r.err, errBadAudio) {
			reason = dalabapb.FailureReason_FAILURE_REASON_BAD_AUDIO
		}
		p.log.Warn("fetch failed", "broadcast", j.id(), "err", r.err)
		p.remove(j)
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, reason, r.err.Error())
		return
	}
	j.pcm = r.pcm
	p.send(j.cmd, dalabapb.ReceiptState_RECEIPT_STATE_FETCHED, 0, "", nil)
}

// start gives j the horn; it reports false if j could not start (and is finished).
func (p *player) start(ctx context.Context, j *job) bool {
	p.remove(j)
	switch {
	case p.ended(j):
		p.finishEnded(j)
		return false
	case p.expired(j):
		why := "its validity window closed before it could start"
		if j.started {
			why = "its validity window closed while it was preempted"
		}
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_EXPIRED, why)
		return false
	}
	if !j.started || j.resumed {
		// Playing: the horn is this broadcast's from now (its first sample may wait for its
		// play-at instant).
		p.send(j.cmd, dalabapb.ReceiptState_RECEIPT_STATE_PLAYING, 0, "", nil)
		j.started, j.resumed = true, false
	}
	p.launch(ctx, j)
	return true
}

// segment is one uninterrupted stretch of a job on the horn: from a byte of one repetition to
// its end, or until it is cut off. It may first wait for its start instant.
type segment struct {
	job    *job
	ctx    context.Context
	cancel context.CancelCauseFunc
	from   int64
	pcm    []byte // what goes to the sink, volume applied; synchronised: after padMax of room
	volume int32

	playAt    time.Time // controller clock: the first sample sounds then (zero: not synchronised)
	notBefore time.Time // real time: not before (between repetitions)
	first     bool      // the program's very first sample: late_us is measured on it

	cutting bool // cancelled with errPreempted
}

type segResult struct {
	seg       *segment
	played    sink.Played
	concealed int32
	err       error
}

// launch starts the segment that continues j, and makes j current.
func (p *player) launch(ctx context.Context, j *job) {
	s := &segment{job: j, from: j.pos, volume: p.volume.Get()}
	if j.cmd.ForcedVolume > 0 {
		s.volume = j.cmd.ForcedVolume
	}
	switch {
	case j.live():
	case j.cmd.PlayAtUnixUs != 0 && !j.preempted && j.pos == 0:
		// On the controller's grid: repetition n starts n periods after play-at, on every
		// terminal alike.
		s.playAt = time.UnixMicro(j.cmd.PlayAtUnixUs).Add(time.Duration(j.rep) * j.period())
		s.first = j.rep == 0
	case j.rep > 0 && j.pos == 0:
		s.notBefore = j.lastEnd.Add(time.Duration(j.cmd.RepeatIntervalMs) * time.Millisecond)
	}
	if !j.live() {
		s.pcm = apply(j.pcm[s.from:], s.volume)
		if !s.playAt.IsZero() {
			// Room for the lead-in silence, made now rather than at the instant.
			buf := make([]byte, padMax+int64(len(s.pcm)))
			copy(buf[padMax:], s.pcm)
			s.pcm = buf
		}
	}
	sctx, cancel := context.WithCancelCause(WithBroadcastID(ctx, j.id()))
	s.ctx, s.cancel = sctx, cancel
	if j.cmd.EndUnixMs != 0 {
		until := p.clock.ToLocal(time.UnixMilli(j.cmd.EndUnixMs)).Sub(p.now())
		ectx, ecancel := context.WithTimeoutCause(sctx, until, errEnded)
		s.ctx, s.cancel = ectx, func(cause error) { cancel(cause); ecancel() }
	}
	p.current, p.seg = j, s
	go func() {
		r := p.playSegment(s)
		select {
		case p.segDone <- r:
		case <-p.gone:
		}
	}()
}

// leadIn is how early a synchronised segment's timer fires: the rest of the way to its instant
// goes to the sink as silence before the first sample, so that the first sample is on time to
// the sample however late the agent wakes within it. Go's timers overshoot by up to a few ms
// here, and a busy machine delays a woken goroutine by more: 20 ms covers both, and costs
// 640 bytes of silence.
const leadIn = 20 * time.Millisecond

// padMax is the most lead-in silence, in bytes.
const padMax = int64(leadIn) * wire.BytesPerSecond / int64(time.Second) &^ 1

// playSegment waits for the segment's instant, then plays it. It runs on its own goroutine.
func (p *player) playSegment(s *segment) segResult {
	r := segResult{seg: s}
	if !s.playAt.IsZero() {
		p.awaitClock(s)
	}
	if !p.waitStart(s) {
		r.err = s.ctx.Err()
		return r
	}
	switch {
	case s.job.live():
		r.played, r.concealed, r.err = p.live.PlayLive(s.ctx, s.job.cmd, s.volume)
	case !s.playAt.IsZero():
		pad := min(padMax, max(0, int64(p.untilStart(s))*wire.BytesPerSecond/int64(time.Second))&^1)
		silence := bytesDuration(pad)
		played, err := p.sink.Play(WithLeadIn(s.ctx, silence), s.pcm[padMax-pad:])
		r.played, r.err = withoutLeadIn(played, pad), err
	default:
		r.played, r.err = p.sink.Play(s.ctx, s.pcm)
	}
	return r
}

// withoutLeadIn is what a Play put out of the program itself, after pad bytes of silence.
func withoutLeadIn(p sink.Played, pad int64) sink.Played {
	if pad == 0 {
		return p
	}
	if p.Bytes <= pad {
		return sink.Played{} // cut before the first sample
	}
	prog := p.Bytes - pad
	p.RMS *= math.Sqrt(float64(p.Bytes) / float64(prog)) // the silence added nothing to the sum of squares
	p.Start, p.Bytes = p.Start.Add(bytesDuration(pad)), prog
	return p
}

// waitStart sleeps until the segment's start; a timer, re-armed once shortly before the
// instant so that a better clock estimate made meanwhile counts. It reports false if the
// segment was cut off while waiting. A start already past means at once.
func (p *player) waitStart(s *segment) bool {
	const settle = 50 * time.Millisecond
	lead := time.Duration(0)
	if !s.playAt.IsZero() && !s.job.live() {
		lead = leadIn
	}
	for {
		d := p.untilStart(s) - lead
		if d <= 0 {
			return true
		}
		final := d <= 2*settle
		if !final {
			d -= settle
		}
		t := time.NewTimer(d)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		if final {
			return true
		}
	}
}

// clockWait bounds how long a synchronised start waits for the first clock probe.
const clockWait = 2 * time.Second

// awaitClock waits (briefly) for the first answer to a clock probe, when the agent has just
// started: before it, the terminal's clock is all it has, which may be seconds off.
func (p *player) awaitClock(s *segment) {
	c, ok := p.clock.(interface{ Synced() <-chan struct{} })
	if !ok {
		return
	}
	select {
	case <-c.Synced():
		return
	default:
	}
	t := time.NewTimer(clockWait)
	defer t.Stop()
	select {
	case <-c.Synced():
	case <-s.ctx.Done():
	case <-t.C:
		p.log.Warn("starting on the terminal's own clock: no answer to a clock probe yet", "broadcast", s.job.id())
	}
}

// untilStart is how long until the segment's first sample must go to the sink.
func (p *player) untilStart(s *segment) time.Duration {
	switch {
	case !s.playAt.IsZero():
		return p.clock.ToLocal(s.playAt).Add(-p.latency).Sub(p.now())
	case !s.notBefore.IsZero():
		return time.Until(s.notBefore)
	}
	return 0
}

// onSegment takes a segment's end and decides the job's fate. stopping: the agent is stopping.
func (p *player) onSegment(ctx context.Context, r segResult, stopping bool) {
	s, j := r.seg, r.seg.job
	p.current, p.seg = nil, nil
	cause, cutOff := context.Cause(s.ctx), s.ctx.Err() != nil
	s.cancel(nil)
	from := s.from
	if j.live() {
		from = j.proof.bytes()
		j.proof.concealed += r.concealed
	}
	j.proof.add(from, r.played, s.volume)
	if s.first && !r.played.Start.IsZero() {
		// The first sample sounded latency after the sink took it; both on this terminal's
		// clock, as is ToLocal(play-at).
		sounded := r.played.Start.Add(p.offset + p.latency)
		j.proof.lateUs = sounded.Sub(p.clock.ToLocal(s.playAt)).Microseconds()
	}
	cut := r.err != nil || (j.live() && cutOff)
	switch {
	case !cut && j.live():
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_DONE, 0, "")
	case !cut:
		j.proof.endRep()
		j.rep, j.pos, j.lastEnd = j.rep+1, 0, r.played.End
		switch {
		case j.rep >= j.repeats():
			p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_DONE, 0, "")
			return
		case stopping:
			p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "agent stopped between repetitions")
			return
		case j.stopReason != "":
			p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED, 0, j.stopReason)
			return
		}
		if p.ended(j) {
			p.finishEnded(j)
			return
		}
		p.launch(ctx, j) // the next repetition, after its interval; schedule may still cut it
	case stopping || errors.Is(r.err, sink.ErrClosed):
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "agent stopped while playing")
	case j.stopReason != "" || errors.Is(cause, errStopped):
		// A stop wins over whatever else cut the segment (a preemption a moment before).
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED, 0, j.stopReason)
	case errors.Is(cause, errEnded):
		p.finishEnded(j)
	case errors.Is(cause, errPreempted) && j.live():
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_PREEMPTED,
			"live speech cut off by a higher priority cannot resume")
	case errors.Is(cause, errPreempted):
		p.preempted(j, s, r.played)
	case j.live() && (errors.Is(r.err, ErrStreamLost) || errors.Is(r.err, live.ErrStreamLost)):
		p.log.Warn("live stream lost", "broadcast", j.id(), "err", r.err)
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_STREAM_LOST, r.err.Error())
	default:
		if r.err == nil {
			r.err = cause
		}
		p.log.Error("audio device failed", "broadcast", j.id(), "err", r.err)
		p.finish(j, dalabapb.ReceiptState_RECEIPT_STATE_FAILED, dalabapb.FailureReason_FAILURE_REASON_AUDIO_DEVICE, r.err.Error())
	}
}

// preempted puts a cut-off stored program back at the head of its level, to resume
// priority.ResumeRewind before the cut (proto/priority).
func (p *player) preempted(j *job, s *segment, played sink.Played) {
	if played.Bytes > 0 {
		j.pos = max(0, s.from+played.Bytes-rewindBytes)
	}
	p.cuts++
	j.order, j.preempted, j.resumed = -p.cuts, true, true
	p.waiting = append(p.waiting, j)
	p.send(j.cmd, dalabapb.ReceiptState_RECEIPT_STATE_PREEMPTED, 0, "a higher priority broadcast cut in; it resumes afterwards",
		j.proof.report(p.offset))
	p.log.Info("broadcast preempted", "broadcast", j.id(), "level", j.level, "resume_at_bytes", j.pos)
}
