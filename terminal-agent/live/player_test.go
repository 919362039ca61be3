package live_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	ctrllive "dalaba/controller/live"
	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe"
	"dalaba/proto/opusframe/speechtest"
	"dalaba/proto/priority"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/live"
	"dalaba/terminal-agent/sink"
	"dalaba/terminal-agent/sink/sinktest"
)

// audioService serves the hub's Listen as the controller's audio service does.
type audioService struct {
	dalabapb.UnimplementedAudioServiceServer
	hub *ctrllive.Hub
}

func (a audioService) Listen(req *dalabapb.ListenRequest, s grpc.ServerStreamingServer[dalabapb.LiveFrame]) error {
	return a.hub.Listen(req, s)
}

type rig struct {
	hub  *ctrllive.Hub
	addr string
	cmds chan *dalabapb.PlayCommand // what a dispatcher would publish
}

// newRig runs a real controller hub behind real gRPC on loopback. Its dispatcher hands the
// play command to the test instead of MQTT.
func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{cmds: make(chan *dalabapb.PlayCommand, 4)}
	r.hub = ctrllive.NewHub(func(_ context.Context, _ []wire.Address, title, id string) (string, error) {
		r.cmds <- &dalabapb.PlayCommand{BroadcastId: id, LiveId: id, Title: title, Priority: int32(priority.Shout)}
		return id, nil
	}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	dalabapb.RegisterLiveServiceServer(gs, r.hub)
	dalabapb.RegisterAudioServiceServer(gs, audioService{hub: r.hub})
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	r.addr = ln.Addr().String()
	return r
}

func (r *rig) dial(t *testing.T) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(r.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (r *rig) open(t *testing.T) (ctrllive.Opened, *dalabapb.PlayCommand) {
	t.Helper()
	o, err := r.hub.Open(context.Background(), ctrllive.OpenRequest{Title: "防汛喊话", By: "tester",
		Targets: []wire.Address{{Tier: wire.TierVillage, Code: "361126104201"}}})
	if err != nil {
		t.Fatal(err)
	}
	return o, <-r.cmds
}

type outcome struct {
	bytes     int64
	concealed int32
	err       error
}

// play starts a terminal's player on cmd; the outcome arrives on the channel.
func play(ctx context.Context, t *testing.T, r *rig, rec *sinktest.Recorder, cmd *dalabapb.PlayCommand, toLocal func(time.Time) time.Time) <-chan outcome {
	p := live.New(r.dial(t), rec, "t001", toLocal, nil)
	done := make(chan outcome, 1)
	go func() {
		played, concealed, err := p.PlayLive(ctx, cmd, 100)
		done <- outcome{played.Bytes, concealed, err}
	}()
	return done
}

// listening waits until n players listen to shout id, so that the speaker's first frame
// reaches them all.
func (r *rig) listening(t *testing.T, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st, _ := r.hub.Stats(id); st.Listeners < n; st, _ = r.hub.Stats(id) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d players listening after 10 s", st.Listeners, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wait(t *testing.T, done <-chan outcome, within time.Duration) outcome {
	t.Helper()
	select {
	case o := <-done:
		return o
	case <-time.After(within):
		t.Fatalf("PlayLive still running after %v", within)
		return outcome{}
	}
}

// speak streams pcm, paced, as a speaker's client does.
func speak(t *testing.T, ctx context.Context, conn *grpc.ClientConn, o ctrllive.Opened, pcm []byte) (*dalabapb.ShoutResult, error) {
	return ctrllive.Speak(ctx, conn, o, ctrllive.Speech{Source: bytes.NewReader(pcm), Paced: true})
}

func TestSpeechArrivesOnTime(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	rec := sinktest.NewRecorder(0)
	var mu sync.Mutex
	var base time.Time // frame 0's play time: the first instant the player maps to this clock
	toLocal := func(c time.Time) time.Time {
		mu.Lock()
		defer mu.Unlock()
		if base.IsZero() {
			base = c
		}
		return c
	}
	done := play(context.Background(), t, r, rec, cmd, toLocal)
	r.listening(t, o.ID, 1)
	said := speechtest.Speak(t, speechtest.Text)[:250*opusframe.PCMBytes] // 5 s
	res, err := speak(t, context.Background(), r.dial(t), o, said)
	if err != nil {
		t.Fatal(err)
	}
	out := wait(t, done, 5*time.Second)
	if out.err != nil {
		t.Fatalf("PlayLive: %v", out.err)
	}
	// On a busy machine the speaker may stall; the hub then moves the rest of the shout later,
	// and the player conceals the pause: every frame still plays, after that many more.
	st, _ := r.hub.Stats(o.ID)
	moved, caughtUp := int32(st.Moved/opusframe.Duration), int32(st.CaughtUp/opusframe.Duration)
	gaps := moved + int32(st.LateDropped) // frames the horn had to conceal: moves, and late ones left out
	frames := (len(said) + opusframe.PCMBytes - 1) / opusframe.PCMBytes
	// (A player starved of CPU may miss a frame's turn too: a few, not more.)
	if int(res.Frames) != frames-st.LateDropped || out.concealed < gaps || out.concealed > gaps+int32(frames/50) {
		t.Errorf("%d frames relayed of %d, %d concealed; want all, and about the %d the hub moved or left out", res.Frames, frames, out.concealed, gaps)
	}
	if want := int64((frames + int(moved-caughtUp)) * opusframe.PCMBytes); out.bytes > want || out.bytes < want-int64(frames/50*opusframe.PCMBytes) {
		t.Errorf("played %d bytes, want %d", out.bytes, want)
	}
	var corr []float64
	for _, m := range speechtest.FindEach(speechtest.Samples(said), speechtest.Samples(rec.PCM()), wire.SampleRate, 2*wire.SampleRate) {
		corr = append(corr, m.Correlation)
	}
	t.Logf("correlation second by second %.3f; hub stats %+v", corr, st)
	slices.Sort(corr)
	// A second where the shout was moved (a concealed pause) matches less; every other
	// second matches well.
	if poor := poorSeconds(corr); poor > st.Late || corr[len(corr)/2] < 0.9 {
		t.Errorf("speech at the terminal correlates %.3f with what was said, second by second: want > 0.8 except where the shout was moved (%d times)", corr, st.Late)
	}
	// Frames go out of the sink at their play times, and are written no more than the
	// player's 40 ms queue ahead of them, not as they arrive (a burst would be early).
	writes := rec.Writes()
	mu.Lock()
	defer mu.Unlock()
	var late []time.Duration
	for i, w := range writes {
		playAt := base.Add(time.Duration(i) * opusframe.Duration)
		if d := playAt.Sub(w.At); d > 42*time.Millisecond {
			t.Fatalf("frame %d written %v before its time, more than the queue ahead", i, d)
		}
		d := w.Out.Sub(playAt)
		if d < -2*time.Millisecond {
			t.Fatalf("frame %d went out %v before its time", i, -d)
		}
		late = append(late, d)
	}
	slices.Sort(late)
	t.Logf("%d writes: median %v, worst %v after their play times", len(writes), late[len(late)/2], late[len(late)-1])
}

// poorSeconds counts the seconds of speech that match poorly.
func poorSeconds(corr []float64) int {
	n := 0
	for _, c := range corr {
		if c < 0.8 {
			n++
		}
	}
	return n
}

func TestPlayTimesFollowClockAndSinkLatency(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	const offset, latency = 300 * time.Millisecond, 40 * time.Millisecond
	rec := sinktest.NewRecorder(latency)
	// The terminal's clock runs 300 ms ahead of the controller's.
	var mu sync.Mutex
	var base time.Time // frame 0's play time on the controller's clock
	toLocal := func(c time.Time) time.Time {
		mu.Lock()
		defer mu.Unlock()
		if base.IsZero() {
			base = c
		}
		return c.Add(offset)
	}
	done := play(context.Background(), t, r, rec, cmd, toLocal)
	r.listening(t, o.ID, 1)
	sent := time.Now()
	if _, err := speak(t, context.Background(), r.dial(t), o, make([]byte, 25*opusframe.PCMBytes)); err != nil {
		t.Fatal(err)
	}
	if out := wait(t, done, 5*time.Second); out.err != nil {
		t.Fatalf("PlayLive: %v", out.err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Frame 0 plays the live delay after it reached the controller (one frame after it was
	// sent); this clock reads 300 ms more, and the sink needs it 40 ms early.
	if d := base.Sub(sent); d < opusframe.Duration+ctrllive.DefaultDelay || d > time.Second {
		t.Errorf("frame 0 plays %v after it was sent, want the live delay after it arrived", d)
	}
	want := base.Add(offset - latency)
	d := rec.Writes()[0].At.Sub(want)
	t.Logf("first frame written %v after its time", d)
	if d < -2*time.Millisecond || d > time.Second { // early is a bug; late, a busy machine
		t.Errorf("first frame written %v from its play time (mapped to this clock, less the sink's latency)", d)
	}
}

func TestLostFramesAreConcealed(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	rec := sinktest.NewRecorder(0)
	done := play(context.Background(), t, r, rec, cmd, nil)
	r.listening(t, o.ID, 1)
	// A client whose every tenth frame never reaches the controller.
	conn := r.dial(t)
	s, err := dalabapb.NewLiveServiceClient(conn).Shout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Send(&dalabapb.ShoutFrame{Open: &dalabapb.ShoutOpen{LiveId: o.ID, StreamKey: o.StreamKey}})
	enc, _ := opusframe.NewEncoder(0)
	said := speechtest.Speak(t, speechtest.Text)[:100*opusframe.PCMBytes]
	start := time.Now()
	for i := range 100 {
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * opusframe.Duration)))
		p, _ := enc.Encode(said[i*opusframe.PCMBytes : (i+1)*opusframe.PCMBytes])
		if i%10 == 3 {
			continue
		}
		s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: p})
	}
	if _, err := s.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	out := wait(t, done, 5*time.Second)
	if out.err != nil {
		t.Fatal(out.err)
	}
	st, _ := r.hub.Stats(o.ID)
	moved := int32(st.Moved / opusframe.Duration) // a busy machine may stall the sender
	gaps := moved + int32(st.LateDropped)
	caughtUp := int(st.CaughtUp / opusframe.Duration)
	if out.concealed < 10+gaps || out.concealed > 12+gaps { // a player starved of CPU may miss a turn or two
		t.Errorf("%d frames concealed, want the 10 that never came (and the %d the hub moved or left out)", out.concealed, gaps)
	}
	if n := len(rec.Writes()); n > 100+int(moved)-caughtUp || n < 98+int(moved)-caughtUp { // (less a turn or two missed)
		t.Errorf("%d frames written, want %d: concealment keeps the timeline", n, 100+int(moved)-caughtUp)
	}
}

func TestSpeakerLinkDropStopsThePlayer(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	rec := sinktest.NewRecorder(0)
	done := play(context.Background(), t, r, rec, cmd, nil)
	r.listening(t, o.ID, 1)
	conn := r.dial(t)
	go speak(t, context.Background(), conn, o, speechtest.Speak(t, speechtest.Text))
	time.Sleep(time.Second)
	conn.Close() // the speaker's link drops mid-sentence
	out := wait(t, done, 3*time.Second)
	if !errors.Is(out.err, live.ErrStreamLost) {
		t.Fatalf("PlayLive after the speaker's link dropped: %v, want ErrStreamLost", out.err)
	}
	if out.bytes < int64(opusframe.PCMBytes*5) { // about a second of it, less on a busy machine
		t.Errorf("played %d bytes before the loss, want some of the second spoken", out.bytes)
	}
	t.Logf("stopped with %v after %d bytes", out.err, out.bytes)
}

func TestControllerGoneStopsThePlayer(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	done := play(context.Background(), t, r, sinktest.NewRecorder(0), cmd, nil)
	r.listening(t, o.ID, 1)
	r.hub.Stop()
	if out := wait(t, done, 3*time.Second); !errors.Is(out.err, live.ErrStreamLost) {
		t.Fatalf("PlayLive when the shout is abandoned: %v, want ErrStreamLost", out.err)
	}
	// A shout that does not exist (anymore) is lost at once.
	p := live.New(r.dial(t), sinktest.NewRecorder(0), "t001", nil, nil)
	_, _, err := p.PlayLive(context.Background(), &dalabapb.PlayCommand{BroadcastId: "b", LiveId: "gone"}, 100)
	if !errors.Is(err, live.ErrStreamLost) {
		t.Errorf("PlayLive of an unknown shout: %v, want ErrStreamLost", err)
	}
}

func TestCancelStopsAtOnce(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := play(ctx, t, r, sinktest.NewRecorder(0), cmd, nil)
	r.listening(t, o.ID, 1)
	go speak(t, context.Background(), r.dial(t), o, speechtest.Speak(t, speechtest.Text))
	time.Sleep(500 * time.Millisecond)
	cancel() // preempted
	out := wait(t, done, time.Second)
	if !errors.Is(out.err, context.Canceled) {
		t.Fatalf("PlayLive cancelled: %v, want context.Canceled", out.err)
	}
	if out.bytes == 0 {
		t.Error("nothing played before the cancel")
	}
	// Cancelled while waiting for the speaker, too.
	_, cmd2 := r.open(t)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if out := wait(t, play(ctx2, t, r, sinktest.NewRecorder(0), cmd2, nil), time.Second); !errors.Is(out.err, context.DeadlineExceeded) {
		t.Errorf("PlayLive cancelled before the speaker began: %v", out.err)
	}
}

func TestRefusesCommandsThatAreNotLive(t *testing.T) {
	r := newRig(t)
	p := live.New(r.dial(t), sinktest.NewRecorder(0), "t001", nil, nil)
	if _, _, err := p.PlayLive(context.Background(), &dalabapb.PlayCommand{BroadcastId: "b"}, 100); err == nil || errors.Is(err, live.ErrStreamLost) {
		t.Errorf("PlayLive of a stored program: %v, want a plain error", err)
	}
	if _, _, err := p.PlayLive(context.Background(), &dalabapb.PlayCommand{BroadcastId: "b", LiveId: "x"}, 101); err == nil {
		t.Error("PlayLive at volume 101 succeeded")
	}
}

// stallingSink stalls its writer after every nth write, as a CPU busy elsewhere does to a
// player between two frames.
type stallingSink struct {
	*sinktest.Recorder
	every int
	stall time.Duration
}

func (s stallingSink) Stream(ctx context.Context) (sink.Stream, error) {
	st, err := s.Recorder.Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &stallingStream{Stream: st, s: s}, nil
}

type stallingStream struct {
	sink.Stream
	s stallingSink
	n int
}

func (st *stallingStream) Write(pcm []byte) error {
	err := st.Stream.Write(pcm)
	if st.n++; st.n%st.s.every == 0 {
		time.Sleep(st.s.stall)
	}
	return err
}

// A player that loses the CPU for more than a frame keeps the horn fed from what it queued
// ahead in the sink: nothing is concealed, and every frame still goes out on time.
func TestPlayerStalledLongerThanAFrameLeavesNoGap(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	rec := stallingSink{Recorder: sinktest.NewRecorder(0), every: 20, stall: 45 * time.Millisecond}
	p := live.New(r.dial(t), rec, "t001", nil, nil)
	done := make(chan outcome, 1)
	go func() {
		played, concealed, err := p.PlayLive(context.Background(), cmd, 100)
		done <- outcome{played.Bytes, concealed, err}
	}()
	r.listening(t, o.ID, 1)
	said := speechtest.Speak(t, speechtest.Text)[:150*opusframe.PCMBytes] // 3 s: 7 stalls
	res, err := speak(t, context.Background(), r.dial(t), o, said)
	if err != nil {
		t.Fatal(err)
	}
	out := wait(t, done, 5*time.Second)
	if out.err != nil {
		t.Fatalf("PlayLive: %v", out.err)
	}
	st, _ := r.hub.Stats(o.ID)
	gaps := int32(st.Moved/opusframe.Duration) + int32(st.LateDropped) // a busy machine may stall the speaker too
	if out.concealed > gaps+1 {
		t.Errorf("%d frames concealed with the player stalled 45 ms every 20 frames (%d relayed, %d the hub moved or left out); want none of the player's own",
			out.concealed, res.Frames, gaps)
	}
	writes := rec.Writes()
	var outs []time.Duration // how late each frame went out, after the first one's pace
	for i, w := range writes[1:] {
		outs = append(outs, w.Out.Sub(writes[0].Out.Add(time.Duration(i+1)*opusframe.Duration)))
	}
	slices.Sort(outs)
	t.Logf("%d frames written, %d concealed; output behind pace: median %v, worst %v", len(writes), out.concealed, outs[len(outs)/2], outs[len(outs)-1])
	if gaps == 0 && outs[len(outs)-1] > 5*time.Millisecond {
		t.Errorf("a frame went out %v behind the pace the first one set: the device ran dry", outs[len(outs)-1])
	}
}
