package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/priority"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/live"
	"dalaba/terminal-agent/sink"
)

// speed is how much faster than real time the fake sink plays: a 3 s program takes 300 ms.
// The rewind after a preemption (2 s of program) is then 200 ms of the test's time.
const speed = 10

// fakeSink plays at speed times real time, one Play at a time, and records every Play.
type fakeSink struct {
	turn  chan struct{}
	began chan string // broadcast id of each Play, as it starts

	mu    sync.Mutex
	plays []fakePlay
}

type fakePlay struct {
	broadcast string
	leadIn    time.Duration // silence before the program (LeadIn)
	pcm       []byte
	played    sink.Played
	err       error
}

func newFakeSink() *fakeSink {
	return &fakeSink{turn: make(chan struct{}, 1), began: make(chan string, 100)}
}

func (s *fakeSink) Play(ctx context.Context, pcm []byte) (sink.Played, error) {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return sink.Played{}, ctx.Err()
	}
	defer func() { <-s.turn }()
	start := time.Now()
	s.began <- BroadcastID(ctx)
	t := time.NewTimer(time.Duration(int64(len(pcm)) * int64(time.Second) / (wire.BytesPerSecond * speed)))
	defer t.Stop()
	n, err := len(pcm), error(nil)
	select {
	case <-t.C:
	case <-ctx.Done():
		n = min(n, int(time.Since(start).Seconds()*wire.BytesPerSecond*speed)&^1)
		err = ctx.Err()
	}
	peak, rms := levels(pcm[:n])
	p := sink.Played{Bytes: int64(n), Start: start, End: time.Now(), Peak: peak, RMS: rms}
	s.mu.Lock()
	s.plays = append(s.plays, fakePlay{broadcast: BroadcastID(ctx), leadIn: LeadIn(ctx), pcm: pcm, played: p, err: err})
	s.mu.Unlock()
	return p, err
}

func (s *fakeSink) Stream(context.Context) (sink.Stream, error) {
	return nil, errors.New("no streams here")
}
func (s *fakeSink) Latency() time.Duration { return 0 }
func (s *fakeSink) Close() error           { return nil }

func (s *fakeSink) all() []fakePlay {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakePlay(nil), s.plays...)
}

func levels(pcm []byte) (peak, rms float64) {
	var sum float64
	for i := 0; i+1 < len(pcm); i += 2 {
		v := math.Abs(float64(int16(binary.LittleEndian.Uint16(pcm[i:])))) / 32768
		peak, sum = max(peak, v), sum+v*v
	}
	if n := len(pcm) / 2; n > 0 {
		rms = math.Sqrt(sum / float64(n))
	}
	return peak, rms
}

// realClock is a terminal whose clock agrees with the controller's.
type realClock struct{}

func (realClock) ToLocal(t time.Time) time.Time { return t }
func (realClock) ControllerNow() time.Time      { return time.Now() }

// harness runs one arbiter with the fake sink, programs fetched from memory and the receipts
// collected.
type harness struct {
	t        *testing.T
	p        *player
	sink     *fakeSink
	volume   *level
	programs sync.Map // program id -> pcm

	mu       sync.Mutex
	receipts []*dalabapb.Receipt
	got      chan struct{}

	stop func()
}

func newHarness(t *testing.T, live LivePlayer) *harness {
	return newHarnessWithClock(t, live, realClock{})
}

func newHarnessWithClock(t *testing.T, live LivePlayer, clock timeline) *harness {
	t.Helper()
	h := &harness{t: t, sink: newFakeSink(), got: make(chan struct{}, 1)}
	h.volume, _ = newLevel(100)
	fetch := func(ctx context.Context, cmd *dalabapb.PlayCommand) ([]byte, error) {
		pcm, ok := h.programs.Load(cmd.ProgramId)
		if !ok {
			return nil, fmt.Errorf("%w: no program %s", errBadAudio, cmd.ProgramId)
		}
		return pcm.([]byte), nil
	}
	opts := Options{Sink: h.sink, Live: live, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.p = newPlayer(opts, h.record, h.volume, clock, time.Now, fetch)
	ctx, cancel := context.WithCancel(context.Background())
	go h.p.run(ctx)
	var once sync.Once
	h.stop = func() { once.Do(func() { cancel(); h.p.wait() }) }
	t.Cleanup(h.stop)
	return h
}

func (h *harness) record(r *dalabapb.Receipt) {
	h.mu.Lock()
	h.receipts = append(h.receipts, r)
	h.mu.Unlock()
	select {
	case h.got <- struct{}{}:
	default:
	}
}

// program makes a distinct program of d seconds (of program time) for id and offers it.
func (h *harness) program(id string, seconds float64) []byte {
	f := fnv.New64()
	f.Write([]byte(id))
	rng := rand.New(rand.NewPCG(f.Sum64(), 1))
	pcm := make([]byte, int(seconds*wire.BytesPerSecond)&^1)
	for i := 0; i < len(pcm); i += 2 {
		binary.LittleEndian.PutUint16(pcm[i:], uint16(int16(rng.IntN(20000)-10000)))
	}
	h.programs.Store("prog-"+id, pcm)
	return pcm
}

// cmd is a play command for id's program at level, valid for a minute.
func (h *harness) cmd(id string, level priority.Level, seconds float64) (*dalabapb.PlayCommand, []byte) {
	pcm := h.program(id, seconds)
	return &dalabapb.PlayCommand{BroadcastId: id, ProgramId: "prog-" + id, ProgramBytes: int64(len(pcm)),
		Priority: int32(level), ValidUntilUnixMs: time.Now().Add(time.Minute).UnixMilli()}, pcm
}

func (h *harness) send(c *dalabapb.PlayCommand) {
	h.p.enqueue(&dalabapb.Command{Body: &dalabapb.Command_Play{Play: c}})
}

func (h *harness) stopBroadcast(id string) {
	h.p.enqueue(&dalabapb.Command{Body: &dalabapb.Command_Stop{Stop: &dalabapb.StopCommand{BroadcastId: id, Reason: "test stop"}}})
}

// await returns the first receipt for id in state st, waiting up to 10 s.
func (h *harness) await(id string, st dalabapb.ReceiptState) *dalabapb.Receipt {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		for _, r := range h.receipts {
			if r.BroadcastId == id && r.State == st {
				h.mu.Unlock()
				return r
			}
		}
		h.mu.Unlock()
		select {
		case <-h.got:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("no %v receipt for %s after 10 s; receipts: %s", st, id, h.states())
		}
	}
}

// states lists the receipts so far, for failure messages and order checks.
func (h *harness) states() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, r := range h.receipts {
		fmt.Fprintf(&b, "%s:%s ", r.BroadcastId, strings.TrimPrefix(r.State.String(), "RECEIPT_STATE_"))
	}
	return b.String()
}

func (h *harness) count(id string, st dalabapb.ReceiptState) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.receipts {
		if r.BroadcastId == id && r.State == st {
			n++
		}
	}
	return n
}

// began waits for the next Play to start and checks whose it is.
func (h *harness) began(id string) {
	h.t.Helper()
	select {
	case got := <-h.sink.began:
		if got != id {
			h.t.Fatalf("the sink started %q, want %q; receipts: %s", got, id, h.states())
		}
	case <-time.After(10 * time.Second):
		h.t.Fatalf("%s did not start playing; receipts: %s", id, h.states())
	}
}

// reaches waits until a Play of id starts, passing over earlier ones.
func (h *harness) reaches(id string) {
	h.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-h.sink.began:
			if got == id {
				return
			}
		case <-timeout:
			h.t.Fatalf("%s did not start playing; receipts: %s", id, h.states())
		}
	}
}

// playsOf returns the sink's Plays of id.
func (h *harness) playsOf(id string) []fakePlay {
	var out []fakePlay
	for _, p := range h.sink.all() {
		if p.broadcast == id {
			out = append(out, p)
		}
	}
	return out
}

// order is the broadcasts in the order the sink played them.
func (h *harness) order() string {
	var ids []string
	for _, p := range h.sink.all() {
		ids = append(ids, p.broadcast)
	}
	return strings.Join(ids, ",")
}

func emergency(upper bool, s priority.Severity) priority.Level {
	l, err := priority.Emergency(upper, s)
	if err != nil {
		panic(err)
	}
	return l
}

const (
	stDone      = dalabapb.ReceiptState_RECEIPT_STATE_DONE
	stFailed    = dalabapb.ReceiptState_RECEIPT_STATE_FAILED
	stPlaying   = dalabapb.ReceiptState_RECEIPT_STATE_PLAYING
	stPreempted = dalabapb.ReceiptState_RECEIPT_STATE_PREEMPTED
	stCancelled = dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED
)

// suffixAt returns where played (a suffix of program) starts in program, or -1.
func suffixAt(program, played []byte) int64 {
	at := len(program) - len(played)
	if at < 0 || !bytes.Equal(program[at:], played) {
		return -1
	}
	return int64(at)
}

func TestArbiter(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"higher level cuts in at once; the cut program resumes after it", func(t *testing.T, h *harness) {
			r, rPCM := h.cmd("routine", priority.Routine, 3)
			e, ePCM := h.cmd("emergency", emergency(false, priority.Red), 1)
			h.send(r)
			h.began("routine")
			time.Sleep(50 * time.Millisecond) // 0.5 s into the program
			sent := time.Now()
			h.send(e)
			h.began("emergency")
			pre := h.await("routine", stPreempted)
			cut := h.playsOf("routine")[0]
			if lag := cut.played.End.Sub(sent); lag > 100*time.Millisecond {
				t.Errorf("routine cut %v after the emergency arrived, want at once", lag)
			}
			if pre.Played == nil || pre.Played.Bytes != cut.played.Bytes {
				t.Errorf("preempted receipt proof %v, want the %d bytes played", pre.Played, cut.played.Bytes)
			}
			if d := h.await("emergency", stDone); d.Played.Bytes != int64(len(ePCM)) {
				t.Errorf("emergency done with %d bytes, want %d", d.Played.Bytes, len(ePCM))
			}
			h.began("routine")
			done := h.await("routine", stDone)
			plays := h.playsOf("routine")
			// Cut within its first 2 s, it resumes from the start.
			if len(plays) != 2 || suffixAt(rPCM, plays[1].pcm) != 0 {
				t.Fatalf("routine resumed from %d, want 0 (%d plays)", suffixAt(rPCM, plays[len(plays)-1].pcm), len(plays))
			}
			if done.Played.Bytes != int64(len(rPCM)) {
				t.Errorf("routine done with %d bytes, want the program's %d counted once", done.Played.Bytes, len(rPCM))
			}
			if h.count("routine", stPlaying) != 2 {
				t.Errorf("want playing reported at the start and on resuming; receipts: %s", h.states())
			}
		}},
		{"resume rewinds 2 s before the cut", func(t *testing.T, h *harness) {
			r, rPCM := h.cmd("routine", priority.Routine, 6)
			h.send(r)
			h.began("routine")
			time.Sleep(400 * time.Millisecond) // 4 s in
			e, _ := h.cmd("emergency", emergency(true, priority.Blue), 0.5)
			h.send(e)
			h.began("emergency")
			h.began("routine")
			done := h.await("routine", stDone)
			plays := h.playsOf("routine")
			cutAt := plays[0].played.Bytes
			if cutAt < 3*wire.BytesPerSecond {
				t.Fatalf("cut after %d bytes, want at least 3 s in", cutAt)
			}
			if got, want := suffixAt(rPCM, plays[1].pcm), cutAt-int64(priority.ResumeRewind.Seconds()*wire.BytesPerSecond); got != want {
				t.Fatalf("resumed at byte %d, want %d (cut at %d less 2 s)", got, want, cutAt)
			}
			if done.Played.Bytes != int64(len(rPCM)) {
				t.Errorf("done with %d bytes, want %d (the replayed 2 s counted once)", done.Played.Bytes, len(rPCM))
			}
			wantRMS := math.Sqrt((sq(plays[0]) + sq(plays[1])) / float64((plays[0].played.Bytes+plays[1].played.Bytes)/2))
			if math.Abs(done.Played.Rms-wantRMS) > 1e-9 || done.Played.Peak != max(plays[0].played.Peak, plays[1].played.Peak) {
				t.Errorf("proof peak %v rms %v, want %v and %v over both plays", done.Played.Peak, done.Played.Rms,
					max(plays[0].played.Peak, plays[1].played.Peak), wantRMS)
			}
		}},
		{"a program whose window closes while it is cut off fails expired", func(t *testing.T, h *harness) {
			r, _ := h.cmd("routine", priority.Routine, 4)
			r.ValidUntilUnixMs = time.Now().Add(300 * time.Millisecond).UnixMilli()
			h.send(r)
			h.began("routine")
			time.Sleep(100 * time.Millisecond)
			e, _ := h.cmd("emergency", emergency(false, priority.Orange), 10) // 1 s
			h.send(e)
			h.began("emergency")
			f := h.await("routine", stFailed)
			if f.Reason != dalabapb.FailureReason_FAILURE_REASON_EXPIRED || f.Played == nil ||
				f.Played.Bytes != h.playsOf("routine")[0].played.Bytes {
				t.Errorf("got %v %q proof %v, want expired with the proof of what played", f.Reason, f.Detail, f.Played)
			}
			h.await("emergency", stDone)
			if n := len(h.playsOf("routine")); n != 1 {
				t.Errorf("routine played %d times, want once (not resumed after its window)", n)
			}
		}},
		{"equal levels queue in arrival order, lower ones wait", func(t *testing.T, h *harness) {
			r1, _ := h.cmd("r1", priority.Routine, 1)
			r2, _ := h.cmd("r2", priority.Routine, 0.5)
			bg, _ := h.cmd("bg", priority.Background, 0.5)
			r3, _ := h.cmd("r3", priority.Routine, 0.5)
			h.send(r1)
			h.began("r1")
			h.send(r2)
			h.send(bg)
			h.send(r3)
			h.await("bg", stDone)
			if got := h.order(); got != "r1,r2,r3,bg" {
				t.Fatalf("played %s, want r1,r2,r3,bg", got)
			}
			if strings.Contains(h.states(), "PREEMPTED") {
				t.Fatalf("equal or lower levels preempted: %s", h.states())
			}
		}},
		{"a cut-off program goes before later arrivals of its level", func(t *testing.T, h *harness) {
			r1, _ := h.cmd("r1", priority.Routine, 2)
			r2, _ := h.cmd("r2", priority.Routine, 0.5)
			e, _ := h.cmd("e", emergency(false, priority.Yellow), 0.5)
			h.send(r1)
			h.began("r1")
			h.send(r2)
			time.Sleep(50 * time.Millisecond)
			h.send(e)
			h.await("r2", stDone)
			if got := h.order(); got != "r1,e,r1,r2" {
				t.Fatalf("played %s, want r1,e,r1,r2", got)
			}
		}},
		{"a higher emergency preempts a lower one; a live shout preempts routine", func(t *testing.T, h *harness) {
			r, _ := h.cmd("routine", priority.Routine, 2)
			h.send(r)
			h.began("routine")
			h.send(&dalabapb.PlayCommand{BroadcastId: "shout", LiveId: "short", Priority: int32(priority.Shout),
				ValidUntilUnixMs: time.Now().Add(time.Minute).UnixMilli()})
			h.await("routine", stPreempted)
			h.await("shout", stDone)
			h.reaches("routine") // resumed
			blue, _ := h.cmd("blue", emergency(false, priority.Blue), 2)
			h.send(blue)
			h.reaches("blue")
			red, _ := h.cmd("red", emergency(false, priority.Red), 0.5)
			h.send(red)
			h.await("blue", stPreempted)
			h.await("routine", stDone)
			// The live shout does not go through the fake sink; routine resumed after it and
			// was cut again by blue.
			if got := h.order(); got != "routine,routine,blue,red,blue,routine" {
				t.Fatalf("played %s, want routine,(shout),routine,blue,red,blue,routine", got)
			}
			if n := h.count("routine", stPreempted); n != 2 {
				t.Errorf("routine preempted %d times, want 2: %s", n, h.states())
			}
		}},
		{"stop while playing cancels at once with the proof", func(t *testing.T, h *harness) {
			r, _ := h.cmd("r", priority.Routine, 5)
			h.send(r)
			h.began("r")
			time.Sleep(100 * time.Millisecond)
			sent := time.Now()
			h.stopBroadcast("r")
			c := h.await("r", stCancelled)
			p := h.playsOf("r")[0]
			if lag := p.played.End.Sub(sent); lag > 100*time.Millisecond {
				t.Errorf("stopped %v after the stop command", lag)
			}
			if c.Played == nil || c.Played.Bytes != p.played.Bytes || c.Detail != "test stop" {
				t.Errorf("cancelled with proof %v detail %q, want %d bytes and the reason", c.Played, c.Detail, p.played.Bytes)
			}
		}},
		{"a stop just after a preemption still cancels", func(t *testing.T, h *harness) {
			r, _ := h.cmd("r", priority.Routine, 3)
			e, _ := h.cmd("e", emergency(false, priority.Red), 0.5)
			h.send(r)
			h.began("r")
			h.send(e)
			h.stopBroadcast("r") // usually before the arbiter has seen the cut segment end
			h.await("r", stCancelled)
			h.await("e", stDone)
			time.Sleep(100 * time.Millisecond)
			if got := h.order(); got != "r,e" {
				t.Fatalf("played %s, want r,e: a stopped broadcast must not resume", got)
			}
		}},
		{"stop while waiting cancels without playing", func(t *testing.T, h *harness) {
			r1, _ := h.cmd("r1", priority.Routine, 0.5)
			r2, _ := h.cmd("r2", priority.Routine, 0.5)
			h.send(r1)
			h.began("r1")
			h.send(r2)
			h.stopBroadcast("r2")
			if c := h.await("r2", stCancelled); c.Played != nil {
				t.Errorf("cancelled with proof %v, nothing played", c.Played)
			}
			h.await("r1", stDone)
			time.Sleep(100 * time.Millisecond)
			if n := len(h.playsOf("r2")); n != 0 {
				t.Errorf("stopped broadcast played %d times", n)
			}
		}},
		{"stop while repeating ends the repeats", func(t *testing.T, h *harness) {
			r, pcm := h.cmd("r", emergency(false, priority.Red), 1)
			r.Repeat, r.RepeatIntervalMs = 3, 500
			h.send(r)
			h.began("r")
			time.Sleep(200 * time.Millisecond) // in the silence after the first play
			h.stopBroadcast("r")
			c := h.await("r", stCancelled)
			if c.Played == nil || c.Played.Bytes != int64(len(pcm)) {
				t.Errorf("cancelled with proof %v, want one whole play (%d bytes)", c.Played, len(pcm))
			}
			time.Sleep(500 * time.Millisecond)
			if n := len(h.playsOf("r")); n != 1 {
				t.Errorf("played %d times after a stop in the first interval", n)
			}
		}},
		{"a stop before its command means it never plays", func(t *testing.T, h *harness) {
			h.stopBroadcast("late")
			r, _ := h.cmd("late", priority.Routine, 0.5)
			time.Sleep(20 * time.Millisecond)
			h.send(r)
			h.await("late", stCancelled)
			time.Sleep(100 * time.Millisecond)
			if n := len(h.sink.all()); n != 0 {
				t.Errorf("%d plays", n)
			}
		}},
		{"repeats with silence between", func(t *testing.T, h *harness) {
			r, pcm := h.cmd("r", emergency(true, priority.Red), 0.5)
			r.Repeat, r.RepeatIntervalMs = 3, 150
			h.send(r)
			d := h.await("r", stDone)
			plays := h.playsOf("r")
			if len(plays) != 3 || d.Played.Bytes != 3*int64(len(pcm)) {
				t.Fatalf("%d plays, proof %d bytes; want 3 plays of %d bytes", len(plays), d.Played.Bytes, len(pcm))
			}
			for i := 1; i < 3; i++ {
				if gap := plays[i].played.Start.Sub(plays[i-1].played.End); gap < 145*time.Millisecond || gap > 400*time.Millisecond {
					t.Errorf("gap before play %d: %v, want 150 ms", i+1, gap)
				}
			}
		}},
		{"the end time stops it mid-play: done with what played", func(t *testing.T, h *harness) {
			r, pcm := h.cmd("r", emergency(false, priority.Red), 10) // 1 s
			end := time.Now().Add(300 * time.Millisecond)
			r.EndUnixMs = end.UnixMilli()
			h.send(r)
			d := h.await("r", stDone)
			p := h.playsOf("r")[0]
			if late := p.played.End.Sub(time.UnixMilli(r.EndUnixMs)); late < -time.Millisecond || late > 50*time.Millisecond {
				t.Errorf("stopped %v after its end time", late)
			}
			if d.Played.Bytes != p.played.Bytes || d.Played.Bytes >= int64(len(pcm)) {
				t.Errorf("done with %d bytes, want the %d that played", d.Played.Bytes, p.played.Bytes)
			}
		}},
		{"forced volume for that broadcast only", func(t *testing.T, h *harness) {
			h.volume.Set(80)
			f, fPCM := h.cmd("forced", emergency(false, priority.Red), 0.3)
			f.ForcedVolume = 30
			o, oPCM := h.cmd("own", priority.Routine, 0.3)
			h.send(f)
			h.send(o)
			fd, od := h.await("forced", stDone), h.await("own", stDone)
			if fd.Played.Volume != 30 || !bytes.Equal(h.playsOf("forced")[0].pcm, apply(fPCM, 30)) {
				t.Errorf("forced broadcast at volume %d, want 30 applied to the samples", fd.Played.Volume)
			}
			if od.Played.Volume != 80 || !bytes.Equal(h.playsOf("own")[0].pcm, apply(oPCM, 80)) {
				t.Errorf("next broadcast at volume %d, want the terminal's 80", od.Played.Volume)
			}
		}},
		{"a priority off the ladder is refused", func(t *testing.T, h *harness) {
			r, _ := h.cmd("bad", priority.Level(60), 0.3)
			h.send(r)
			f := h.await("bad", stFailed)
			if !strings.Contains(f.Detail, "priority 60") {
				t.Errorf("detail %q, want it to name the priority", f.Detail)
			}
			time.Sleep(100 * time.Millisecond)
			if n := len(h.sink.all()); n != 0 {
				t.Errorf("%d plays", n)
			}
		}},
		{"a repeating program cut in its interval resumes with its next repetition", func(t *testing.T, h *harness) {
			r, pcm := h.cmd("r", priority.Routine, 0.5)
			r.Repeat, r.RepeatIntervalMs = 2, 300
			h.send(r)
			h.began("r")
			time.Sleep(100 * time.Millisecond) // in the interval
			e, _ := h.cmd("e", emergency(false, priority.Red), 0.5)
			h.send(e)
			h.await("r", stPreempted)
			d := h.await("r", stDone)
			plays := h.playsOf("r")
			if got := h.order(); got != "r,e,r" || len(plays) != 2 || suffixAt(pcm, plays[1].pcm) != 0 {
				t.Fatalf("played %s, want r,e,r with the second repetition whole", got)
			}
			if d.Played.Bytes != 2*int64(len(pcm)) {
				t.Errorf("done with %d bytes, want two repetitions (%d)", d.Played.Bytes, 2*len(pcm))
			}
		}},
		{"a duplicate command plays once", func(t *testing.T, h *harness) {
			r, _ := h.cmd("r", priority.Routine, 0.3)
			h.send(r)
			h.send(r)
			h.await("r", stDone)
			time.Sleep(100 * time.Millisecond)
			if n := len(h.playsOf("r")); n != 1 {
				t.Errorf("played %d times", n)
			}
		}},
		// A controller killed before it stored the done receipt redelivers the broadcast once the
		// terminal is back: no second play, the same final receipt again.
		{"a command for a finished broadcast gets its final receipt again", func(t *testing.T, h *harness) {
			r, _ := h.cmd("r", priority.Routine, 0.3)
			h.send(r)
			first := h.await("r", stDone)
			h.send(r)
			for deadline := time.Now().Add(10 * time.Second); h.count("r", stDone) < 2; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no final receipt sent again: %s", h.states())
				}
			}
			time.Sleep(100 * time.Millisecond)
			if n := len(h.playsOf("r")); n != 1 {
				t.Errorf("played %d times", n)
			}
			var again *dalabapb.Receipt
			h.mu.Lock()
			for _, x := range h.receipts {
				if x.BroadcastId == "r" && x.State == stDone && x != first {
					again = x
				}
			}
			h.mu.Unlock()
			if again.GetPlayed().GetBytes() != first.GetPlayed().GetBytes() || again.GetPlayed().GetBytes() == 0 {
				t.Errorf("sent again with proof %v, first %v", again.GetPlayed(), first.GetPlayed())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newHarness(t, fakeLive{}))
		})
	}
}

func sq(p fakePlay) float64 { return p.played.RMS * p.played.RMS * float64(p.played.Bytes/2) }

// fakeLive plays a live shout by its live_id: "short" ends cleanly after 100 ms, "lost" breaks
// off after 50 ms, anything else lasts until it is cut.
type fakeLive struct{}

func (fakeLive) PlayLive(ctx context.Context, cmd *dalabapb.PlayCommand, volume int32) (sink.Played, int32, error) {
	start := time.Now()
	played := func() sink.Played {
		n := int64(time.Since(start).Seconds()*wire.BytesPerSecond) &^ 1
		return sink.Played{Bytes: n, Start: start, End: time.Now(), Peak: 0.5, RMS: 0.2}
	}
	wait := time.Hour
	switch cmd.LiveId {
	case "short":
		wait = 100 * time.Millisecond
	case "lost", "lost-live":
		wait = 50 * time.Millisecond
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return played(), 0, ctx.Err()
	}
	switch cmd.LiveId {
	case "lost":
		return played(), 3, fmt.Errorf("listen: connection reset: %w", ErrStreamLost)
	case "lost-live": // as terminal-agent/live says it
		return played(), 3, fmt.Errorf("%w: speaker gone", live.ErrStreamLost)
	}
	return played(), 1, nil
}

func TestArbiterLive(t *testing.T) {
	shout := func(id, live string) *dalabapb.PlayCommand {
		return &dalabapb.PlayCommand{BroadcastId: id, LiveId: live, Priority: int32(priority.Shout),
			ValidUntilUnixMs: time.Now().Add(time.Minute).UnixMilli()}
	}
	t.Run("ends cleanly", func(t *testing.T) {
		h := newHarness(t, fakeLive{})
		h.send(shout("s", "short"))
		d := h.await("s", stDone)
		if d.Played == nil || d.Played.Bytes == 0 || d.Played.FramesConcealed != 1 {
			t.Errorf("done with proof %v, want bytes and the frames concealed", d.Played)
		}
	})
	t.Run("a lost stream fails stream_lost", func(t *testing.T) {
		h := newHarness(t, fakeLive{})
		h.send(shout("s", "lost"))
		h.send(shout("s2", "lost-live"))
		for _, id := range []string{"s", "s2"} {
			f := h.await(id, stFailed)
			if f.Reason != dalabapb.FailureReason_FAILURE_REASON_STREAM_LOST || f.Played.GetFramesConcealed() != 3 {
				t.Errorf("%s: got %v %q %v, want stream_lost with its proof", id, f.Reason, f.Detail, f.Played)
			}
		}
	})
	t.Run("cut by an emergency it fails preempted and does not resume", func(t *testing.T) {
		h := newHarness(t, fakeLive{})
		h.send(shout("s", "long"))
		h.await("s", stPlaying)
		time.Sleep(50 * time.Millisecond)
		e, _ := h.cmd("e", emergency(false, priority.Blue), 0.3)
		h.send(e)
		f := h.await("s", stFailed)
		if f.Reason != dalabapb.FailureReason_FAILURE_REASON_PREEMPTED || f.Played.GetBytes() == 0 {
			t.Errorf("got %v %q %v, want preempted with the proof of what played", f.Reason, f.Detail, f.Played)
		}
		h.await("e", stDone)
		if n := h.count("s", stPreempted); n != 0 {
			t.Errorf("live shout reported preempted (to resume) %d times", n)
		}
	})
	t.Run("stopped, it is cancelled", func(t *testing.T) {
		h := newHarness(t, fakeLive{})
		h.send(shout("s", "long"))
		h.await("s", stPlaying)
		h.stopBroadcast("s")
		h.await("s", stCancelled)
	})
	t.Run("an agent without a live player says so", func(t *testing.T) {
		h := newHarness(t, nil)
		h.send(shout("s", "short"))
		if f := h.await("s", stFailed); f.Detail != errNoLive {
			t.Errorf("detail %q, want %q", f.Detail, errNoLive)
		}
	})
}

// The first sample goes to the sink at play-at (less the sink's latency): a timer wakes a few
// ms early and the rest of the way goes to the sink as silence. late_us says how far off the
// first sample was. A command that arrives after its play-at starts at once.
func TestArbiterPlayAt(t *testing.T) {
	h := newHarness(t, nil)
	// On time to the sample, unless the machine stalls the agent: one of three tries must be
	// within 15 ms (a start that ignored play-at would miss all three by far); none early.
	var offs []time.Duration
	for try := range 3 {
		id := fmt.Sprintf("on-time-%d", try)
		r, pcm := h.cmd(id, priority.Routine, 0.3)
		at := time.UnixMicro(time.Now().Add(200 * time.Millisecond).UnixMicro())
		r.PlayAtUnixUs = at.UnixMicro()
		h.send(r)
		d := h.await(id, stDone)
		p := h.playsOf(id)[0]
		pad := int64(p.leadIn.Seconds()*wire.BytesPerSecond+0.5) &^ 1
		if p.leadIn < 0 || p.leadIn > leadIn || !bytes.Equal(p.pcm[pad:], pcm) || !bytes.Equal(p.pcm[:pad], make([]byte, pad)) {
			t.Fatalf("the sink got %d bytes for a %d-byte program with %v of lead-in: want silence, then the program", len(p.pcm), len(pcm), p.leadIn)
		}
		start := p.played.Start.Add(p.leadIn) // the program's first sample
		off := start.Sub(at)
		if off < -time.Millisecond {
			t.Errorf("first sample %v before its play-at", -off)
		}
		offs = append(offs, off)
		if late := time.Duration(d.Played.LateUs) * time.Microsecond; late != off.Truncate(time.Microsecond) {
			t.Errorf("late_us %v, want the first sample's %v", late, off)
		}
		if d.Played.Bytes != int64(len(pcm)) || d.Played.StartedUnixMs != start.UnixMilli() {
			t.Errorf("proof %d bytes from %d, want the program's %d from its first sample %d (no lead-in)",
				d.Played.Bytes, d.Played.StartedUnixMs, len(pcm), start.UnixMilli())
		}
		if _, rms := levels(pcm); math.Abs(d.Played.Rms-rms) > 1e-6 {
			t.Errorf("proof rms %v, want the program's %v (not diluted by the lead-in)", d.Played.Rms, rms)
		}
		if off <= 15*time.Millisecond {
			break
		}
	}
	if last := offs[len(offs)-1]; last > 15*time.Millisecond {
		t.Errorf("first samples %v from their play-at, want one within 15 ms", offs)
	}

	l, _ := h.cmd("late", priority.Routine, 0.3)
	l.PlayAtUnixUs = time.Now().Add(-150 * time.Millisecond).UnixMicro()
	h.send(l)
	d := h.await("late", stDone)
	if late := time.Duration(d.Played.LateUs) * time.Microsecond; late < 150*time.Millisecond || late > time.Second {
		t.Errorf("late_us %v for a command 150 ms past its play-at", late)
	}
}

// An agent that stops fails what plays and what waits as interrupted, with the proof.
func TestArbiterStopping(t *testing.T) {
	h := newHarness(t, nil)
	r1, _ := h.cmd("r1", priority.Routine, 5)
	r2, _ := h.cmd("r2", priority.Routine, 1)
	h.send(r1)
	h.began("r1")
	h.send(r2)
	time.Sleep(50 * time.Millisecond)
	h.stop()
	f1, f2 := h.await("r1", stFailed), h.await("r2", stFailed)
	if f1.Reason != dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED || f1.Played.GetBytes() == 0 {
		t.Errorf("playing one: %v %q %v", f1.Reason, f1.Detail, f1.Played)
	}
	if f2.Reason != dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED || f2.Played != nil {
		t.Errorf("waiting one: %v %q %v", f2.Reason, f2.Detail, f2.Played)
	}
}

// syncingClock is a terminal whose controller clock is ahead by offset, which it learns only
// when synced is closed (its first clock probe answered).
type syncingClock struct {
	offset time.Duration
	synced chan struct{}
}

func (c syncingClock) known() time.Duration {
	select {
	case <-c.synced:
		return c.offset
	default:
		return 0
	}
}
func (c syncingClock) ToLocal(t time.Time) time.Time { return t.Add(-c.known()) }
func (c syncingClock) ControllerNow() time.Time      { return time.Now().Add(c.known()) }
func (c syncingClock) Synced() <-chan struct{}       { return c.synced }

// A synchronised start right after the agent starts waits for the first clock probe rather
// than trusting the terminal's own clock.
func TestArbiterPlayAtWaitsForTheFirstProbe(t *testing.T) {
	clk := syncingClock{offset: time.Second, synced: make(chan struct{})}
	h := newHarnessWithClock(t, nil, clk)
	r, _ := h.cmd("early", priority.Routine, 0.3)
	r.ValidUntilUnixMs = time.Now().Add(time.Hour).UnixMilli()
	want := time.Now().Add(300 * time.Millisecond) // on this terminal's clock
	r.PlayAtUnixUs = want.Add(clk.offset).UnixMicro()
	h.send(r)
	time.Sleep(150 * time.Millisecond)
	close(clk.synced) // the first probe comes back
	h.await("early", stDone)
	p := h.playsOf("early")[0]
	if off := p.played.Start.Add(p.leadIn).Sub(want); off < -time.Millisecond || off > 15*time.Millisecond {
		t.Fatalf("first sample %v from its play-at on the synced clock", off)
	}
}
