package live

import (
	"testing"
	"time"
)

func TestWriteTimes(t *testing.T) {
	base := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	pl := &playout{base: base, latency: 30 * time.Millisecond,
		toLocal: func(c time.Time) time.Time { return c.Add(-2 * time.Second) }} // this clock is 2 s behind
	for _, c := range []struct {
		seq   uint32
		shift time.Duration
		want  time.Time
	}{
		{0, 0, base.Add(-2*time.Second - 30*time.Millisecond)},
		{50, 0, base.Add(time.Second - 2*time.Second - 30*time.Millisecond)},
		{50, 40 * time.Millisecond, base.Add(time.Second - 2*time.Second - 30*time.Millisecond + 40*time.Millisecond)},
	} {
		pl.shift = c.shift
		if got := pl.writeAt(c.seq); !got.Equal(c.want) {
			t.Errorf("writeAt(%d) with shift %v = %v, want %v", c.seq, c.shift, got, c.want)
		}
	}
}

func TestLateByWholeFrames(t *testing.T) {
	for _, c := range []struct{ left, want time.Duration }{
		{50 * time.Millisecond, 0},
		{writeMargin, 0},
		{writeMargin - time.Millisecond, 20 * time.Millisecond},
		{-115 * time.Millisecond, 120 * time.Millisecond}, // 115 + 5 ms to decode: 6 frames
		{-116 * time.Millisecond, 140 * time.Millisecond},
	} {
		if got := lateBy(c.left); got != c.want {
			t.Errorf("lateBy(%v) = %v, want %v", c.left, got, c.want)
		}
	}
}

func TestWholeFrames(t *testing.T) {
	for _, c := range []struct{ d, want time.Duration }{
		{0, 0}, {time.Millisecond, 20 * time.Millisecond}, {175 * time.Millisecond, 180 * time.Millisecond}, {40 * time.Millisecond, 40 * time.Millisecond},
	} {
		if got := wholeFrames(c.d); got != c.want {
			t.Errorf("wholeFrames(%v) = %v, want %v", c.d, got, c.want)
		}
	}
}

func TestCatchUpDropsTheLagOnly(t *testing.T) {
	pcm := make([]byte, 640) // 20 ms
	now := time.Now()
	for _, c := range []struct {
		name   string
		queued time.Time // the device's clock: when what it holds will have played
		at     time.Time // when this frame should go out
		want   int       // bytes kept
		slack  int       // bytes fewer allowed: time passes between now and the call
	}{
		{"on time", time.Time{}, now.Add(10 * time.Millisecond), 640, 0},
		{"within the 2 ms allowed", now.Add(time.Millisecond), now, 640, 0},
		{"device 10 ms behind: drop 10 ms", now.Add(10 * time.Millisecond), now, 320, 32},
		{"a whole frame behind: drop it", now.Add(30 * time.Millisecond), now, 0, 0},
	} {
		pl := &playout{queued: c.queued}
		if got := len(pl.catchUp(pcm, c.at)); got > c.want || got < c.want-c.slack {
			t.Errorf("%s: kept %d bytes, want %d (%d fewer allowed)", c.name, got, c.want, c.slack)
		}
	}
}
