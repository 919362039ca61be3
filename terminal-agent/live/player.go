// Package live plays live shouts (喊话) on a terminal: it listens to the controller's stream of
// Opus frames (AudioService.Listen), holds them in a small jitter buffer, and writes each one to
// the sink so that it sounds at its play time, the same instant on every horn. A frame that has
// not arrived when it is due is replaced by Opus loss concealment and counted.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink"
)

// ErrStreamLost is wrapped by PlayLive's error when the stream broke off before the speaker
// finished: the speaker's or this terminal's link dropped, the controller abandoned the shout,
// or the shout was not (or no longer) live when this terminal asked for it.
var ErrStreamLost = errors.New("live stream lost")

const (
	// HeaderTimeout bounds the wait for the speaker to start: the controller abandons a shout
	// without speaker after 30 s and says so; this is in case nobody can say so.
	HeaderTimeout = 45 * time.Second
	// SilenceTimeout: frames come 50 times a second while a shout lasts, so this long without
	// any means the link is gone even if no error says so. It is longer than the controller's
	// wait for a stalled speaker (3 s), which ends the stream with a reason.
	SilenceTimeout = 5 * time.Second
	// maxAhead bounds the jitter buffer: frames further ahead of the one playing are refused.
	maxAhead = 250 // 5 s
	// writeMargin is how long before its write time a frame's turn comes: time to decode it
	// (well under a millisecond), and to spare when many players share a CPU, as in the fleet
	// simulator, so that each still writes on time.
	writeMargin = 5 * time.Millisecond
	// queueAhead is how long before its write time a frame that has come may go to the sink.
	// After the first frame, which starts the device on time, the sink queues what it is
	// given and the device reaches each frame on time, however early it was written; so a
	// player the CPU wakes late (hundreds share two cores in the fleet simulator; a horn's
	// own board has GC pauses) still keeps the device fed. Only frames that have come go
	// early: a frame late from the network still has until its write time.
	queueAhead = 40 * time.Millisecond
)

// Player plays live shouts on one terminal.
type Player struct {
	audio    dalabapb.AudioServiceClient
	sink     sink.Sink
	terminal string
	toLocal  func(time.Time) time.Time
	log      *slog.Logger

	// Arrived and Wrote, if set, are told when each frame arrives (with its Opus packet, not
	// to be modified) and when it reaches the sink's output: when it was written or, written
	// ahead, when the frames queued before it have played out (add the sink's latency for
	// when it sounds). For benchmarks and diagnostics. They run on the player's goroutines:
	// keep them quick.
	Arrived func(seq uint32, at time.Time, packet []byte)
	Wrote   func(seq uint32, at time.Time)
}

// New returns a player that listens over conn and plays through s. toLocal turns an instant on
// the controller's clock into this terminal's (the clock offset estimate); nil means the clocks
// agree. log nil means slog.Default.
func New(conn grpc.ClientConnInterface, s sink.Sink, terminalID string, toLocal func(time.Time) time.Time, log *slog.Logger) *Player {
	if toLocal == nil {
		toLocal = func(t time.Time) time.Time { return t }
	}
	if log == nil {
		log = slog.Default()
	}
	return &Player{audio: dalabapb.NewAudioServiceClient(conn), sink: s, terminal: terminalID, toLocal: toLocal, log: log}
}

// PlayLive plays the shout cmd names (cmd.live_id) at volume percent until it ends. It returns
// what went to the device and how many frames were concealed, and:
//   - nil when the speaker finished and the last frame has sounded;
//   - an error wrapping ErrStreamLost when the stream broke off first;
//   - ctx.Err() when ctx ended (the shout was preempted or stopped here);
//   - any other error when the sink failed.
func (p *Player) PlayLive(ctx context.Context, cmd *dalabapb.PlayCommand, volume int32) (sink.Played, int32, error) {
	if cmd.GetLiveId() == "" {
		return sink.Played{}, 0, fmt.Errorf("live: broadcast %s is not a live shout (no live_id)", cmd.GetBroadcastId())
	}
	if volume < 0 || volume > 100 {
		return sink.Played{}, 0, fmt.Errorf("live: volume %d: want 0 to 100", volume)
	}
	log := p.log.With("live", cmd.LiveId)
	// The stream ends when ctx does, but without ctx's deadline: gRPC would send that to the
	// controller, whose answer (deadline exceeded) could overtake ctx's own expiry here and
	// pass for a lost stream.
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	defer context.AfterFunc(ctx, stop)()
	stream, err := p.audio.Listen(lctx, &dalabapb.ListenRequest{LiveId: cmd.LiveId, TerminalId: p.terminal})
	if err != nil {
		return sink.Played{}, 0, p.failure(ctx, err)
	}
	buf := newJitter()
	buf.arrived = p.Arrived
	received := make(chan struct{})
	go func() {
		defer close(received)
		buf.receive(stream)
	}()
	defer func() { stop(); <-received }()

	header, err := buf.waitHeader(ctx, HeaderTimeout)
	if err != nil {
		return sink.Played{}, 0, p.failure(ctx, err)
	}
	if header.GetFrameUs() != int32(opusframe.Duration/time.Microsecond) || header.GetSampleRate() != wire.SampleRate {
		return sink.Played{}, 0, fmt.Errorf("%w: stream of %d µs frames at %d Hz, want %v at %d Hz", ErrStreamLost,
			header.GetFrameUs(), header.GetSampleRate(), opusframe.Duration, wire.SampleRate)
	}
	dec, err := opusframe.NewDecoder()
	if err != nil {
		return sink.Played{}, 0, err
	}
	out, err := p.sink.Stream(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return sink.Played{}, 0, ctx.Err()
		}
		return sink.Played{}, 0, err
	}
	pl := &playout{out: out, dec: dec, buf: buf, volume: volume, log: log, wrote: p.Wrote,
		base: time.UnixMicro(header.BasePlayAtUnixUs), first: header.FirstSeq, toLocal: p.toLocal, latency: p.sink.Latency()}
	return pl.run(ctx)
}

// failure classifies an error met before playing.
func (p *Player) failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return lostErr(err)
}

// lostErr wraps ErrStreamLost around why, the controller's own words when it gave any.
func lostErr(why error) error {
	if s, ok := status.FromError(why); ok && s.Code() != codes.Unknown {
		msg := strings.TrimPrefix(s.Message(), ErrStreamLost.Error()+": ")
		return fmt.Errorf("%w: %s (%v)", ErrStreamLost, msg, s.Code())
	}
	return fmt.Errorf("%w: %v", ErrStreamLost, why)
}

// playout writes frames to the sink on time.
type playout struct {
	out     sink.Stream
	dec     *opusframe.Decoder
	buf     *jitter
	volume  int32
	log     *slog.Logger
	base    time.Time // frame 0's play time, controller clock
	first   uint32
	toLocal func(time.Time) time.Time
	latency time.Duration
	shift   time.Duration // how much later than its play time every frame sounds here
	wrote   func(seq uint32, at time.Time)
	queued  time.Time // when what was written so far will have gone out of the sink
}

// writeAt is when frame seq must be handed to the sink to sound at its play time.
func (pl *playout) writeAt(seq uint32) time.Time {
	return pl.toLocal(pl.base.Add(time.Duration(seq) * opusframe.Duration)).Add(pl.shift - pl.latency)
}

func (pl *playout) run(ctx context.Context) (sink.Played, int32, error) {
	var concealed, skipped int32
	// A sink slower than the controller's live delay allows cannot make the first frame's
	// time; then every frame plays the same whole number of frames late, rather than each as
	// late as it happens to be. Only the sink's latency moves the timeline so: a player that
	// is merely late to start (a busy CPU) skips frames instead, below, and stays in step
	// with the other horns.
	// The hub sends frames two to a message, so every other frame comes a frame after it was
	// spoken: the shift leaves room for that.
	if pl.shift = min(lateBy(time.Until(pl.writeAt(pl.first))-opusframe.Duration), wholeFrames(pl.latency)); pl.shift > 0 {
		pl.log.Warn("live: sink latency exceeds the live delay: playing late", "late", pl.shift, "sink_latency", pl.latency)
	}
	defer func() {
		if skipped > 0 {
			pl.log.Warn("live: frames skipped, their turn came too late", "frames", skipped)
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	closeNow := func() sink.Played {
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		played, _ := pl.out.Close(cancelled)
		return played
	}
	for seq := pl.first; ; seq++ {
		at := pl.writeAt(seq)
		if err := pl.awaitTurn(ctx, timer, seq, at); err != nil {
			return closeNow(), concealed, err
		}
		packet, end, err := pl.buf.take(seq)
		switch {
		case ctx.Err() != nil: // the stream broke because ctx ended
			return closeNow(), concealed, ctx.Err()
		case err != nil:
			return closeNow(), concealed, lostErr(err)
		case end:
			played, err := pl.out.Close(ctx)
			if err != nil && ctx.Err() != nil {
				return played, concealed, ctx.Err()
			}
			return played, concealed, err
		}
		// Written a frame or more late, a frame would sound late, and everything after it
		// too: the sink plays what it is given in order. Better a gap, and in step.
		if time.Since(at) > opusframe.Duration {
			skipped++
			concealed++
			continue
		}
		var pcm []byte
		if packet != nil {
			pcm, err = pl.dec.Decode(packet)
		}
		if packet == nil || err != nil {
			if err != nil {
				pl.log.Warn("live: undecodable frame concealed", "seq", seq, "err", err)
			}
			concealed++
			if pcm, err = pl.dec.Conceal(); err != nil {
				return closeNow(), concealed, err
			}
		}
		pcm = scale(pcm, pl.volume)
		if wait := time.Until(at); seq == pl.first && wait > 0 { // the first starts the device: on time
			time.Sleep(wait)
		}
		pcm = pl.catchUp(pcm, at)
		if err := pl.out.Write(pcm); err != nil {
			played := closeNow()
			if ctx.Err() != nil {
				return played, concealed, ctx.Err()
			}
			return played, concealed, err
		}
		pl.written(seq, len(pcm))
	}
}

// awaitTurn waits until frame seq may go to the sink: queueAhead before its write time if it
// has come (the first frame: just before its write time), else until just before its write
// time, when it is concealed if it has still not come.
func (pl *playout) awaitTurn(ctx context.Context, timer *time.Timer, seq uint32, at time.Time) error {
	deadline, early := at.Add(-writeMargin), at.Add(-queueAhead)
	if seq == pl.first {
		early = deadline
	}
	for {
		now := time.Now()
		if !now.Before(deadline) || !now.Before(early) && pl.buf.ready(seq) {
			return nil
		}
		wake := deadline
		if now.Before(early) {
			wake = early
		}
		timer.Reset(wake.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		case <-pl.buf.came:
			timer.Stop()
		}
	}
}

// maxLag is how far behind its play time the device may run before samples are dropped.
const maxLag = 2 * time.Millisecond

// catchUp drops the start of a frame due at at when the device runs behind by more than
// maxLag: a first write the CPU delayed would otherwise make everything after it as late, and
// this horn echo its neighbours for the whole shout.
func (pl *playout) catchUp(pcm []byte, at time.Time) []byte {
	lag := pl.nextOut().Sub(at)
	if lag <= maxLag {
		return pcm
	}
	drop := min(len(pcm), int(int64(lag)*wire.BytesPerSecond/int64(time.Second))&^1)
	return pcm[drop:]
}

// nextOut is when audio written now goes out of the sink: now, or when what it holds has.
func (pl *playout) nextOut() time.Time {
	if now := time.Now(); !pl.queued.After(now) {
		return now
	}
	return pl.queued
}

// written notes frame seq gone to the sink: it goes out when what was queued before it has.
func (pl *playout) written(seq uint32, n int) {
	out := pl.nextOut()
	pl.queued = out.Add(time.Duration(n) * time.Second / wire.BytesPerSecond)
	if pl.wrote != nil {
		pl.wrote(seq, out)
	}
}

// lateBy is how much later than their play times frames must sound when the first one's
// write time is left from now (negative: already past): whole frames, enough to decode in.
func lateBy(left time.Duration) time.Duration {
	if late := left - writeMargin; late < 0 {
		return (-late + opusframe.Duration - 1) / opusframe.Duration * opusframe.Duration
	}
	return 0
}

// wholeFrames is d rounded up to whole frames.
func wholeFrames(d time.Duration) time.Duration {
	return (d + opusframe.Duration - 1) / opusframe.Duration * opusframe.Duration
}

// jitter holds the frames received and not yet played, and the stream's outcome.
type jitter struct {
	mu      sync.Mutex
	header  *dalabapb.LiveHeader
	hasHead chan struct{} // closed when the header has come
	gone    chan struct{} // closed when the stream has ended or failed
	frames  map[uint32][]byte
	next    uint32 // the frame playing next; older ones are late
	end     uint32
	ended   bool
	err     error
	last    time.Time // anything received
	late    int
	arrived func(seq uint32, at time.Time, packet []byte)
	came    chan struct{} // a token when anything comes, for a player waiting on a frame
}

func newJitter() *jitter {
	return &jitter{hasHead: make(chan struct{}), gone: make(chan struct{}), frames: map[uint32][]byte{}, last: time.Now(),
		came: make(chan struct{}, 1)}
}

// receive reads the stream until it ends or fails.
func (j *jitter) receive(stream grpc.ServerStreamingClient[dalabapb.LiveFrame]) {
	defer close(j.gone)
	for {
		f, err := stream.Recv()
		j.mu.Lock()
		j.last = time.Now()
		switch {
		case err != nil:
			if !j.ended {
				j.err = err
			}
		case f.Header != nil && j.header == nil:
			j.header, j.next = f.Header, f.Header.FirstSeq
			close(j.hasHead)
		}
		if err == nil && j.header != nil {
			j.add(f)
		}
		j.mu.Unlock()
		select {
		case j.came <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// ready says whether frame seq can be taken without waiting for it: it has come, or the
// stream has ended or failed.
func (j *jitter) ready(seq uint32) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.frames[seq]
	return ok || j.ended || j.err != nil
}

// add files one frame; caller holds mu.
func (j *jitter) add(f *dalabapb.LiveFrame) {
	if f.End {
		j.end, j.ended = f.Seq, true
		return
	}
	if len(f.Opus) == 0 {
		return
	}
	j.addFrame(f.Seq, f.Opus)
	for i, opus := range f.MoreOpus { // the frames after it, sent in the same message
		j.addFrame(f.Seq+1+uint32(i), opus)
	}
}

// addFrame files frame seq's Opus packet; caller holds mu.
func (j *jitter) addFrame(seq uint32, opus []byte) {
	if len(opus) == 0 {
		return
	}
	if j.arrived != nil {
		j.arrived(seq, j.last, opus)
	}
	switch {
	case seq < j.next:
		j.late++ // already concealed
	case seq-j.next < maxAhead:
		j.frames[seq] = opus
	}
}

func (j *jitter) waitHeader(ctx context.Context, timeout time.Duration) (*dalabapb.LiveHeader, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-j.hasHead:
	case <-j.gone:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("the speaker did not start within %v", timeout)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.header == nil {
		return nil, j.err
	}
	return j.header, nil
}

// take hands over frame seq (nil if it has not come), or says the stream ended before it, or
// failed.
func (j *jitter) take(seq uint32) (packet []byte, end bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ended && seq >= j.end {
		return nil, true, nil
	}
	if j.err != nil {
		return nil, false, j.err
	}
	if since := time.Since(j.last); since > SilenceTimeout {
		return nil, false, fmt.Errorf("nothing from the controller for %v", since.Round(time.Millisecond))
	}
	packet = j.frames[seq]
	delete(j.frames, seq)
	j.next = seq + 1
	return packet, false, nil
}
