package live_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"dalaba/controller/live"
	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe"
	"dalaba/proto/wire"
)

// audioService serves the hub's Listen as the controller's audio service does.
type audioService struct {
	dalabapb.UnimplementedAudioServiceServer
	hub *live.Hub
}

func (a audioService) Listen(req *dalabapb.ListenRequest, s grpc.ServerStreamingServer[dalabapb.LiveFrame]) error {
	return a.hub.Listen(req, s)
}

type fixture struct {
	hub        *live.Hub
	conn       *grpc.ClientConn
	dispatched chan string // live ids dispatched
}

// serve runs a hub on a real gRPC server on loopback, dispatching into a channel.
func serve(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dispatched: make(chan string, 16)}
	f.hub = live.NewHub(func(_ context.Context, targets []wire.Address, title, id string) (string, error) {
		if len(targets) == 0 || title == "" {
			return "", errors.New("bad request")
		}
		f.dispatched <- id
		return id, nil
	}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	dalabapb.RegisterLiveServiceServer(gs, f.hub)
	dalabapb.RegisterAudioServiceServer(gs, audioService{hub: f.hub})
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	f.conn, err = grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.conn.Close() })
	return f
}

// waitListeners waits until n listeners wait for (or hear) shout id.
func (f *fixture) waitListeners(t *testing.T, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st, _ := f.hub.Stats(id); st.Listeners < n; st, _ = f.hub.Stats(id) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d listeners after 10 s", st.Listeners, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// listenInBackground listens as t001 and returns once the hub counts want listeners on the
// shout; the channel gets what the listener received when its stream ends.
func (f *fixture) listenInBackground(t *testing.T, id string, want int) <-chan received {
	t.Helper()
	ready := make(chan struct{})
	done := make(chan received, 1)
	go func() { done <- listen(context.Background(), f, id, "t001", ready) }()
	<-ready
	f.waitListeners(t, id, want)
	return done
}

func (f *fixture) open(t *testing.T) live.Opened {
	t.Helper()
	o, err := f.hub.Open(context.Background(), live.OpenRequest{Title: "喊话", By: "tester",
		Targets: []wire.Address{{Tier: wire.TierVillage, Code: "361126104201"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-f.dispatched; got != o.ID {
		t.Fatalf("dispatched live id %q, opened %q", got, o.ID)
	}
	return o
}

// frames encodes n frames of a tone.
func frames(t *testing.T, n int) [][]byte {
	enc, err := opusframe.NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := range n {
		pcm := make([]byte, opusframe.PCMBytes)
		for k := 0; k < opusframe.Samples; k++ {
			v := int16(8000 * ((k + i*opusframe.Samples) % 40) / 40)
			pcm[2*k], pcm[2*k+1] = byte(v), byte(uint16(v)>>8)
		}
		p, err := enc.Encode(pcm)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(p))
	}
	return out
}

// received is what one listener got.
type received struct {
	header *dalabapb.LiveHeader
	seqs   []uint32
	msgs   int // messages that carried frames
	end    bool
	err    error
}

func listen(ctx context.Context, f *fixture, id, terminal string, ready chan<- struct{}) received {
	var r received
	stream, err := dalabapb.NewAudioServiceClient(f.conn).Listen(ctx, &dalabapb.ListenRequest{LiveId: id, TerminalId: terminal})
	if ready != nil {
		close(ready)
	}
	if err != nil {
		r.err = err
		return r
	}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return r
		}
		if err != nil {
			r.err = err
			return r
		}
		switch {
		case m.Header != nil:
			r.header = m.Header
		case m.End:
			r.end = true
		default:
			r.msgs++
			r.seqs = append(r.seqs, m.Seq)
			for i := range m.MoreOpus { // frames sent in the same message
				r.seqs = append(r.seqs, m.Seq+1+uint32(i))
			}
		}
	}
}

func speaker(t *testing.T, f *fixture, o live.Opened) grpc.ClientStreamingClient[dalabapb.ShoutFrame, dalabapb.ShoutResult] {
	t.Helper()
	s, err := dalabapb.NewLiveServiceClient(f.conn).Shout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&dalabapb.ShoutFrame{Open: &dalabapb.ShoutOpen{LiveId: o.ID, StreamKey: o.StreamKey}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShoutRelaysFramesWithPlayTimes(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	const n = 50
	var wg sync.WaitGroup
	got := make([]received, 3)
	for i := range got {
		ready := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = listen(context.Background(), f, o.ID, "t00"+string(rune('1'+i)), ready)
		}()
		<-ready
	}
	f.waitListeners(t, o.ID, len(got))
	s := speaker(t, f, o)
	start := time.Now()
	for i, p := range frames(t, n) {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		if err := s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: p, CapturedUnixUs: time.Now().UnixMicro()}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != n || res.DurationMs != n*20 {
		t.Errorf("result %v, want %d frames, %d ms", res, n, n*20)
	}
	wg.Wait()
	st, _ := f.hub.Stats(o.ID)
	// A busy machine may stall the sender: the hub then moves the rest later (see
	// TestStalledSpeakerPlaysLaterWithoutLosingWords), and the numbering with it.
	moved := uint32((st.Moved - st.CaughtUp) / (20 * time.Millisecond)) // (tones have no pauses to catch up in)
	for i, r := range got {
		if r.err != nil || !r.end {
			t.Fatalf("listener %d: err %v, end %v", i, r.err, r.end)
		}
		if want := n - st.LateDropped; len(r.seqs) != want || r.seqs[len(r.seqs)-1] != n-1+moved {
			t.Fatalf("listener %d got frames %v, want %d up to %d (moved %d)", i, r.seqs, want, n-1+moved, moved)
		}
		// Two frames to a message, but for the odd one a stalled sender leaves alone.
		if r.msgs > len(r.seqs)*3/4 {
			t.Errorf("listener %d got %d frames in %d messages, want them two to a message", i, len(r.seqs), r.msgs)
		}
		h := r.header
		if h.FrameUs != 20000 || h.SampleRate != wire.SampleRate || h.FirstSeq != 0 || h.LiveId != o.ID {
			t.Errorf("listener %d header %v", i, h)
		}
		// Frame 0 plays the live delay after it reached the controller. (Whether frames
		// arrive in time is measured by BenchmarkLiveShout125, not asserted here.)
		base := time.UnixMicro(h.BasePlayAtUnixUs)
		if d := base.Sub(start); d < live.DefaultDelay || d > live.DefaultDelay+5*time.Second {
			t.Errorf("frame 0 plays %v after it was sent, want the live delay %v and a little", d, live.DefaultDelay)
		}
	}
	if !st.Ended || st.Frames != n-st.LateDropped || st.Dropped != 0 || (st.Late == st.LateDropped) != (st.Moved == 0) {
		t.Errorf("stats %+v", st)
	}
}

func TestShoutRefusesWrongKeyAndUnknownID(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	for _, c := range []struct {
		name string
		open *dalabapb.ShoutOpen
		code codes.Code
		says string
	}{
		{"wrong key", &dalabapb.ShoutOpen{LiveId: o.ID, StreamKey: "0123"}, codes.PermissionDenied, "密钥"},
		{"unknown id", &dalabapb.ShoutOpen{LiveId: "no-such-shout", StreamKey: o.StreamKey}, codes.NotFound, "没有这个喊话"},
		{"no open", nil, codes.InvalidArgument, "open"},
	} {
		s, err := dalabapb.NewLiveServiceClient(f.conn).Shout(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s.Send(&dalabapb.ShoutFrame{Open: c.open, Opus: []byte{1, 2, 3}})
		_, err = s.CloseAndRecv()
		if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.code, c.says)
		}
	}
	// The right key still works afterwards, once.
	s := speaker(t, f, o)
	s.Send(&dalabapb.ShoutFrame{Seq: 0, Opus: frames(t, 1)[0]})
	for st, _ := f.hub.Stats(o.ID); st.Frames == 0; st, _ = f.hub.Stats(o.ID) {
		time.Sleep(5 * time.Millisecond) // the first speaker holds the shout
	}
	second := speaker(t, f, o)
	if _, err := second.CloseAndRecv(); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a second speaker on the same shout: %v, want FailedPrecondition", err)
	}
	if _, err := s.CloseAndRecv(); err != nil {
		t.Errorf("the speaker with the right key: %v", err)
	}
}

func TestSpeakerLinkDropTellsListenersLost(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	done := f.listenInBackground(t, o.ID, 1)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := dalabapb.NewLiveServiceClient(f.conn).Shout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Send(&dalabapb.ShoutFrame{Open: &dalabapb.ShoutOpen{LiveId: o.ID, StreamKey: o.StreamKey}})
	for i, p := range frames(t, 10) {
		s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: p})
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // the link drops without the stream being closed
	select {
	case r := <-done:
		if status.Code(r.err) != codes.Aborted || !strings.Contains(r.err.Error(), "lost") || r.end {
			t.Errorf("listener ended with %v (end %v), want Aborted: live stream lost", r.err, r.end)
		}
		if len(r.seqs) != 10 {
			t.Errorf("listener got %d frames before the loss, want 10", len(r.seqs))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("listener still waiting 5 s after the speaker's link dropped")
	}
	if st, _ := f.hub.Stats(o.ID); st.Lost == "" {
		t.Errorf("stats %+v, want lost", st)
	}
}

func TestSilentSpeakerCountsAsLost(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	done := f.listenInBackground(t, o.ID, 1)
	s := speaker(t, f, o)
	s.Send(&dalabapb.ShoutFrame{Seq: 0, Opus: frames(t, 1)[0]})
	// ... then nothing, the stream open: a link that hangs.
	select {
	case r := <-done:
		if status.Code(r.err) != codes.Aborted {
			t.Errorf("listener ended with %v, want Aborted (lost)", r.err)
		}
	case <-time.After(live.SpeakerIdle + 3*time.Second):
		t.Fatal("listener still waiting well after the speaker fell silent")
	}
	if _, err := s.CloseAndRecv(); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("speaker: %v, want DeadlineExceeded", err)
	}
}

func TestSlowListenerDoesNotHoldUpOthers(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	// The slow listener opens its stream and never reads: flow control fills, then its queue.
	slowCtx, slowCancel := context.WithCancel(context.Background())
	defer slowCancel()
	slow, err := dalabapb.NewAudioServiceClient(f.conn).Listen(slowCtx, &dalabapb.ListenRequest{LiveId: o.ID, TerminalId: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	_ = slow
	done := f.listenInBackground(t, o.ID, 2)
	s := speaker(t, f, o)
	// Big frames fill the slow listener's window (64 KiB) quickly: 20 frames of 1275 bytes do.
	const n = 200
	big := bytes.Repeat([]byte{0xfc}, opusframe.MaxPacket)
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		if err := s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: big}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	// Had the slow listener held up the fan-out, the good one would wait for ever.
	var r received
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the listener keeping up has not finished 30 s after the speaker: held up by the slow one")
	}
	if r.err != nil || !r.end || len(r.seqs) != n {
		t.Fatalf("the listener keeping up got %d of %d frames (err %v, end %v)", len(r.seqs), n, r.err, r.end)
	}
	st, _ := f.hub.Stats(o.ID)
	t.Logf("stats %+v", st)
	if st.Dropped == 0 {
		t.Errorf("no frames dropped for a listener that never reads: stats %+v", st)
	}
}

func TestLateListenerJoinsMidShout(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	s := speaker(t, f, o)
	fr := frames(t, 100)
	start := time.Now()
	var joined received
	var wg sync.WaitGroup
	for i, p := range fr {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: p})
		if i == 50 {
			wg.Add(1)
			go func() { defer wg.Done(); joined = listen(context.Background(), f, o.ID, "late", nil) }()
		}
	}
	s.CloseAndRecv()
	wg.Wait()
	if joined.err != nil || !joined.end {
		t.Fatalf("late listener: %v", joined.err)
	}
	// It starts with the recent frames not yet due, not the whole past, and has every frame
	// from there on (renumbered past any gap where a busy machine made the hub move the shout).
	st, _ := f.hub.Stats(o.ID)
	moved := uint32((st.Moved - st.CaughtUp) / (20 * time.Millisecond))
	first, last := joined.header.FirstSeq, joined.seqs[len(joined.seqs)-1]
	if first < 45 || joined.seqs[0] < first || last != 99+moved {
		t.Errorf("late listener joining at frame 50: first_seq %d, frames %d..%d, want from about 50 to %d", first, joined.seqs[0], last, 99+moved)
	}
	gaps := joined.seqs[0] - first
	for i := 1; i < len(joined.seqs); i++ {
		if joined.seqs[i] <= joined.seqs[i-1] {
			t.Fatalf("late listener's frames go from %d back to %d", joined.seqs[i-1], joined.seqs[i])
		}
		gaps += joined.seqs[i] - joined.seqs[i-1] - 1
	}
	if gaps > moved+uint32(st.LateDropped) {
		t.Errorf("late listener's frames skip %d in all, but the shout was moved by only %d", gaps, moved)
	}
}

func TestUnknownShoutAndAbandonedShout(t *testing.T) {
	f := serve(t)
	r := listen(context.Background(), f, "nothing", "t001", nil)
	if status.Code(r.err) != codes.NotFound {
		t.Errorf("Listen to an unknown shout: %v, want NotFound", r.err)
	}
	o := f.open(t)
	done := f.listenInBackground(t, o.ID, 1)
	f.hub.Stop() // the controller stops before the speaker begins
	select {
	case r := <-done:
		if status.Code(r.err) != codes.Aborted {
			t.Errorf("listener of a shout abandoned before it began: %v, want Aborted", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("listener still waiting after the hub stopped")
	}
	if _, err := f.hub.Open(context.Background(), live.OpenRequest{Title: "x", Targets: []wire.Address{{Tier: wire.TierTown, Code: "361126104"}}}); err == nil {
		t.Error("a stopped hub opened a shout")
	}
}

func TestOpenFailsWhenDispatchFails(t *testing.T) {
	f := serve(t)
	if _, err := f.hub.Open(context.Background(), live.OpenRequest{Title: "", Targets: []wire.Address{{Tier: wire.TierTown, Code: "361126104"}}}); err == nil {
		t.Error("Open succeeded though dispatch refused")
	}
	if _, err := f.hub.Open(context.Background(), live.OpenRequest{Title: "x"}); err == nil {
		t.Error("Open without targets succeeded")
	}
	if _, err := live.NewHub(nil, nil).Open(context.Background(), live.OpenRequest{Title: "x", Targets: []wire.Address{{Tier: wire.TierTown, Code: "361126104"}}}); !errors.Is(err, live.ErrNoDispatcher) {
		t.Errorf("Open on a hub without dispatcher: %v", err)
	}
}

func TestStalledSpeakerPlaysLaterWithoutLosingWords(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	done := f.listenInBackground(t, o.ID, 1)
	s := speaker(t, f, o)
	const n, stallAt, stall = 60, 10, 300 * time.Millisecond
	start := time.Now()
	for i, p := range frames(t, n) {
		due := start.Add(time.Duration(i) * 20 * time.Millisecond)
		if i >= stallAt {
			due = due.Add(stall) // the client's source stalled, then caught up with a burst
			if i < stallAt+15 {
				due = start.Add(time.Duration(stallAt)*20*time.Millisecond + stall)
			}
		}
		time.Sleep(time.Until(due))
		if err := s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: p}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || !r.end || len(r.seqs) != n {
		t.Fatalf("listener got %d of %d frames (err %v, end %v)", len(r.seqs), n, r.err, r.end)
	}
	gap := r.seqs[stallAt] - r.seqs[stallAt-1] - 1
	st, _ := f.hub.Stats(o.ID)
	t.Logf("gap of %d frames after frame %d; stats %+v", gap, stallAt-1, st)
	var gaps uint32 // all of them: a busy machine may add small ones of its own
	for k := 1; k < len(r.seqs); k++ {
		gaps += r.seqs[k] - r.seqs[k-1] - 1
	}
	if gap < 10 || st.Late == 0 || st.Moved+time.Duration(st.LateDropped)*20*time.Millisecond != time.Duration(gaps)*20*time.Millisecond {
		t.Errorf("after a %v stall: a gap of %d frames (%d in all), stats %+v; want about 15 and the rest moved later by the gaps", stall, gap, gaps, st)
	}
}

func TestMovedShoutStillTakesFramesOnTime(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	s := speaker(t, f, o)
	fr := frames(t, 40)
	start := time.Now()
	s.Send(&dalabapb.ShoutFrame{Seq: 0, Opus: fr[0]})
	// A stall of nearly the most the hub moves a shout by: frame 1 comes 1.9 s late.
	time.Sleep(1900 * time.Millisecond)
	for i := 1; i < len(fr); i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		if err := s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: fr[i]}); err != nil {
			break
		}
	}
	// The client then sends on its own schedule again: ahead of the moved shout by the move,
	// which is not sending faster than real time.
	if _, err := s.CloseAndRecv(); err != nil {
		t.Fatalf("speaker after a stall: %v", err)
	}
	if st, _ := f.hub.Stats(o.ID); !st.Ended || st.Frames != len(fr) || st.Moved < 1500*time.Millisecond {
		t.Errorf("stats %+v, want every frame relayed and the shout moved about 1.9 s", st)
	}
}

func TestMovedShoutCatchesUpInPauses(t *testing.T) {
	f := serve(t)
	o := f.open(t)
	done := f.listenInBackground(t, o.ID, 1)
	s := speaker(t, f, o)
	// Speech, a stall (then the client sends what it held at once, and is on time again),
	// more speech, a pause between sentences, speech again.
	enc, err := opusframe.NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	loud := frames(t, 80)
	var packets [][]byte
	for i := range 100 {
		if i >= 40 && i < 70 { // the pause: 30 frames of silence
			p, _ := enc.Encode(make([]byte, opusframe.PCMBytes))
			packets = append(packets, bytes.Clone(p))
		} else {
			packets = append(packets, loud[min(i, 79)])
		}
	}
	start := time.Now()
	for i, p := range packets {
		due := start.Add(time.Duration(i) * 20 * time.Millisecond)
		if i >= 10 && i < 20 {
			due = start.Add(400 * time.Millisecond) // stalled after frame 9
		}
		time.Sleep(time.Until(due))
		s.Send(&dalabapb.ShoutFrame{Seq: uint32(i), Opus: p})
	}
	if _, err := s.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	st, _ := f.hub.Stats(o.ID)
	t.Logf("stats %+v; relayed %d frames, last %d", st, len(r.seqs), r.seqs[len(r.seqs)-1])
	// Made up in the pause (all of it, unless a busy machine made the hub move it again).
	if st.Moved == 0 || st.CaughtUp == 0 || st.Moved-st.CaughtUp > 100*time.Millisecond {
		t.Errorf("stats %+v: want the move made up in the pause", st)
	}
	left, behind := int(st.CaughtUp/(20*time.Millisecond)), int((st.Moved-st.CaughtUp)/(20*time.Millisecond))
	if len(r.seqs) != 100-left-st.LateDropped || int(r.seqs[len(r.seqs)-1]) != 99+behind {
		t.Errorf("relayed %d frames ending at %d, want %d ending at %d: the shout back on its first timeline", len(r.seqs), r.seqs[len(r.seqs)-1], 100-left, 99+behind)
	}
}
