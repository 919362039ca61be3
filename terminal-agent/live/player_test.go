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
	said := speechtest.Speak(t, speechtest.Text)[:250*opusframe.PCMBytes] // 5 s
	res, err := speak(t, context.Background(), r.dial(t), o, said)
	if err != nil {
		t.Fatal(err)
	}
	out := wait(t, done, 5*time.Second)
	if out.err != nil {
		t.Fatalf("PlayLive: %v", out.err)
	}
	frames := (len(said) + opusframe.PCMBytes - 1) / opusframe.PCMBytes
	if int(res.Frames) != frames || out.concealed != 0 {
		t.Errorf("%d frames relayed of %d, %d concealed", res.Frames, frames, out.concealed)
	}
	if out.bytes != int64(frames*opusframe.PCMBytes) {
		t.Errorf("played %d bytes, want %d", out.bytes, frames*opusframe.PCMBytes)
	}
	m := speechtest.Find(speechtest.Samples(said), speechtest.Samples(rec.PCM()))
	t.Logf("correlation %.3f at lag %d", m.Correlation, m.Lag)
	if m.Correlation < 0.9 {
		t.Errorf("speech at the terminal correlates %.3f with what was said, want > 0.9", m.Correlation)
	}
	// Frames are written at their play times, not as they arrive (a burst would be early):
	// none early, and most on time (a busy machine may make some late).
	st, _ := r.hub.Stats(o.ID)
	writes := rec.Writes()
	mu.Lock()
	defer mu.Unlock()
	var late []time.Duration
	for i, w := range writes {
		d := w.At.Sub(base.Add(time.Duration(i) * opusframe.Duration))
		if d < -2*time.Millisecond {
			t.Fatalf("frame %d written %v before its time", i, -d)
		}
		late = append(late, d)
	}
	slices.Sort(late)
	t.Logf("%d writes: median %v, worst %v after their play times; hub stats %+v", len(writes), late[len(late)/2], late[len(late)-1], st)
	if late[len(late)/2] > 5*time.Millisecond {
		t.Errorf("frames written a median %v after their play time", late[len(late)/2])
	}
}

func TestPlayTimesFollowClockAndSinkLatency(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	const offset, latency = 100 * time.Millisecond, 30 * time.Millisecond
	rec := sinktest.NewRecorder(latency)
	// The terminal's clock runs 100 ms ahead of the controller's.
	done := play(context.Background(), t, r, rec, cmd, func(c time.Time) time.Time { return c.Add(offset) })
	sent := time.Now()
	if _, err := speak(t, context.Background(), r.dial(t), o, make([]byte, 25*opusframe.PCMBytes)); err != nil {
		t.Fatal(err)
	}
	if out := wait(t, done, 5*time.Second); out.err != nil || out.concealed != 0 {
		t.Fatalf("PlayLive: %v, %d concealed", out.err, out.concealed)
	}
	// Frame 0 reached the controller about 20 ms after sent (one frame of capture); it plays
	// the live delay later on the controller's clock, which here reads 100 ms less.
	w := rec.Writes()
	want := sent.Add(opusframe.Duration + ctrllive.DefaultDelay + offset - latency)
	if d := w[0].At.Sub(want); d < -10*time.Millisecond || d > 25*time.Millisecond {
		t.Errorf("first frame written %v from its play time (mapped to this clock, less the sink's latency)", d)
	}
}

func TestLostFramesAreConcealed(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	rec := sinktest.NewRecorder(0)
	done := play(context.Background(), t, r, rec, cmd, nil)
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
	if out.concealed != 10 {
		t.Errorf("%d frames concealed, want the 10 that never came", out.concealed)
	}
	if n := len(rec.Writes()); n != 100 {
		t.Errorf("%d frames written, want 100: concealment keeps the timeline", n)
	}
}

func TestSpeakerLinkDropStopsThePlayer(t *testing.T) {
	r := newRig(t)
	o, cmd := r.open(t)
	rec := sinktest.NewRecorder(0)
	done := play(context.Background(), t, r, rec, cmd, nil)
	conn := r.dial(t)
	go speak(t, context.Background(), conn, o, speechtest.Speak(t, speechtest.Text))
	time.Sleep(time.Second)
	conn.Close() // the speaker's link drops mid-sentence
	out := wait(t, done, 3*time.Second)
	if !errors.Is(out.err, live.ErrStreamLost) {
		t.Fatalf("PlayLive after the speaker's link dropped: %v, want ErrStreamLost", out.err)
	}
	if out.bytes < int64(opusframe.PCMBytes*30) {
		t.Errorf("played %d bytes before the loss, want about a second", out.bytes)
	}
	t.Logf("stopped with %v after %d bytes", out.err, out.bytes)
}

func TestControllerGoneStopsThePlayer(t *testing.T) {
	r := newRig(t)
	_, cmd := r.open(t)
	done := play(context.Background(), t, r, sinktest.NewRecorder(0), cmd, nil)
	time.Sleep(100 * time.Millisecond)
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
