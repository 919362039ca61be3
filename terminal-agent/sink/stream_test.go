package sink

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink/alsatest"
)

// frames cuts pcm into 20 ms pieces, as a live stream delivers it.
func frames(pcm []byte) [][]byte {
	const n = wire.BytesPerSecond / 50
	var out [][]byte
	for len(pcm) > 0 {
		k := min(n, len(pcm))
		out = append(out, pcm[:k])
		pcm = pcm[k:]
	}
	return out
}

// writePaced writes each frame when it is due, as a live source would.
func writePaced(t testing.TB, st Stream, pcm []byte) time.Time {
	t0 := time.Now()
	for i, f := range frames(pcm) {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * 20 * time.Millisecond)))
		if err := st.Write(f); err != nil {
			t.Fatalf("Write frame %d: %v", i, err)
		}
	}
	return t0
}

func TestNullStreamKeepsTime(t *testing.T) {
	s := NewNull()
	defer s.Close()
	if s.Latency() != 0 {
		t.Errorf("null sink latency %v, want 0", s.Latency())
	}
	st, err := s.Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pcm := tone(440, 0.5, 300*time.Millisecond)
	t0 := time.Now()
	for _, f := range frames(pcm) { // written all at once: Close waits for them to "sound"
		if err := st.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	p, err := st.Close(context.Background())
	took := time.Since(t0)
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took < 280*time.Millisecond || took > 2*time.Second {
		t.Errorf("Close returned %v after 0.3 s of audio was written, want about 0.3 s", took)
	}
	if p.Bytes != int64(len(pcm)) || !near(p.Peak, 0.5, 0.005) || !near(p.RMS, 0.5/math.Sqrt2, 0.005) {
		t.Errorf("Played = %+v, want %d bytes, peak 0.5, RMS %.3f", p, len(pcm), 0.5/math.Sqrt2)
	}
	if _, err := st.Close(context.Background()); err == nil {
		t.Error("a second Close succeeded")
	}
	if err := st.Write(pcm); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestNullStreamRunsDryAndResumes(t *testing.T) {
	s := NewNull()
	defer s.Close()
	st, err := s.Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.Write(tone(440, 0.5, 20*time.Millisecond))
	time.Sleep(100 * time.Millisecond) // the device played silence after the first frame
	t1 := time.Now()
	st.Write(tone(440, 0.5, 100*time.Millisecond))
	if _, err := st.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The second write starts when written, not where the first one ended.
	if d := time.Since(t1); d < 90*time.Millisecond || d > time.Second {
		t.Errorf("Close returned %v after the second write, want about its 100 ms", d)
	}
}

func TestStreamTakesTurnsWithPlay(t *testing.T) {
	s := NewNull()
	defer s.Close()
	st, err := s.Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Play(ctx, tone(440, 0.5, 20*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Play while a stream is open: %v, want it to wait its turn until its deadline", err)
	}
	if _, err := s.Stream(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a second Stream while one is open: %v, want it to wait its turn", err)
	}
	st.Close(context.Background())
	if _, err := s.Play(context.Background(), tone(440, 0.5, 20*time.Millisecond)); err != nil {
		t.Errorf("Play after the stream closed: %v", err)
	}
}

func TestNullStreamStops(t *testing.T) {
	s := NewNull()
	st, err := s.Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.Write(tone(440, 0.5, 2*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	p, err := st.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > time.Second {
		t.Errorf("Close with a deadline: %v after %v, want the deadline's error promptly", err, time.Since(t0))
	}
	if p.Bytes <= 0 || p.Bytes >= int64(len(tone(440, 0.5, 2*time.Second))) {
		t.Errorf("Played.Bytes = %d, want part of the 2 s written", p.Bytes)
	}

	st, err = s.Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.Write(tone(440, 0.5, 2*time.Second))
	go func() { time.Sleep(50 * time.Millisecond); s.Close() }()
	if _, err := st.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("stream Close while the sink closes: %v, want ErrClosed", err)
	}
	if err := st.Write(tone(440, 0.5, 20*time.Millisecond)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write on a closed sink: %v, want ErrClosed", err)
	}
	if _, err := s.Stream(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Stream on a closed sink: %v, want ErrClosed", err)
	}
}

// streamChild is the oto child's "stream" mode: 1 s of 1000 Hz written 20 ms at a time, paced.
func streamChild(s Sink, say func(string, any)) {
	st, err := s.Stream(context.Background())
	if err != nil {
		say("STREAMERR", err.Error())
		return
	}
	say("LATENCY", s.Latency())
	t0 := time.Now()
	for i, f := range frames(tone(1000, 0.5, time.Second)) {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * 20 * time.Millisecond)))
		if err := st.Write(f); err != nil {
			say("WRITEERR", err.Error())
			return
		}
	}
	p, err := st.Close(context.Background())
	say("PLAYED", p)
	say("RETURNED", time.Now())
	if err != nil {
		say("PLAYERR", err.Error())
	}
	s.Close()
	// ALSA's file plugin writes out a period only when the next one comes: let oto's silence
	// push the stream's last periods into the file before the process exits.
	time.Sleep(3 * otoPeriod)
}

func TestOtoStreamPlaysWithoutGaps(t *testing.T) {
	home, out := alsatest.Home(t)
	c := runOtoChild(t, "stream", home, out)
	if c.code != 0 {
		t.Fatalf("child exited %d; said %v; stderr:\n%s", c.code, c.lines, c.stderr)
	}
	for _, k := range []string{"STREAMERR", "WRITEERR", "PLAYERR"} {
		if e := c.lines[k]; e != "" {
			t.Fatalf("%s: %s", k, e)
		}
	}
	p, returned := c.played(t)
	samples, err := alsatest.ReadFloat32(out)
	if err != nil {
		t.Fatal(err)
	}
	a := alsatest.Analyze(samples, wire.SampleRate, 0.01)
	logTiming(t, c, a, p, returned)
	if math.Abs(float64(a.Loud)-16000) > 0.05*16000 {
		t.Errorf("loud samples in the file = %d, want 16000 ± 5%% (1 s)", a.Loud)
	}
	if math.Abs(a.DominantHz-1000) > 20 {
		t.Errorf("dominant frequency %v Hz, want 1000", a.DominantHz)
	}
	// A sine at half scale is quiet (under 0.01) for at most a sample around each zero
	// crossing; a run of quiet samples in the middle is a gap the mixer filled with silence.
	quiet, longest := 0, 0
	for _, v := range samples[max(0, a.FirstLoud) : a.LastLoud+1] {
		if math.Abs(float64(v)) <= 0.01 {
			quiet++
			longest = max(longest, quiet)
		} else {
			quiet = 0
		}
	}
	if longest > 4 {
		t.Errorf("a gap of %d silent samples inside the streamed tone", longest)
	}
	if p.Bytes != 2*wire.SampleRate || !near(p.Peak, 0.5, 0.01) {
		t.Errorf("Played = %+v, want %d bytes at peak 0.5", p, 2*wire.SampleRate)
	}
	if want := fmt.Sprint(int64(otoStreamLatency)); c.lines["LATENCY"] != want {
		t.Errorf("oto stream latency reported %q ns, want %s", c.lines["LATENCY"], want)
	}
}
