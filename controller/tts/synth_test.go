package tts

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dalaba/controller/audio"
	"dalaba/proto/wire"
)

// countingEngine wraps a real engine to count its runs; the engine can be swapped for a broken
// one after New's self-check.
type countingEngine struct {
	inner atomic.Pointer[Espeak]
	calls atomic.Int32
	hold  time.Duration // makes a run last at least this long, so concurrent callers overlap
}

func counting(e *Espeak) *countingEngine {
	c := &countingEngine{}
	c.inner.Store(e)
	return c
}

func (c *countingEngine) Name() string { return "espeak" }

func (c *countingEngine) Synthesize(ctx context.Context, text string, v Voice) ([]byte, error) {
	c.calls.Add(1)
	time.Sleep(c.hold)
	return c.inner.Load().Synthesize(ctx, text, v)
}

func newSynth(t *testing.T, voicesDir, cacheDir string, engines ...Engine) *Synthesizer {
	t.Helper()
	s, err := New(voicesDir, cacheDir, slog.New(slog.NewTextHandler(t.Output(), nil)), engines...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const sentence = "各位村民请注意，今天下午三点在村委会召开会议。" // 21 hanzi and 2 pauses

func rms(pcm []byte) float64 {
	var sum float64
	s := samples(pcm)
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum/float64(len(s))) / 32768
}

func TestSpeakMandarin(t *testing.T) {
	s := newSynth(t, shippedVoices, "")
	for _, voice := range s.Voices() {
		pcm, err := s.Speak(context.Background(), sentence, voice)
		if err != nil {
			t.Fatal(err)
		}
		dur := time.Duration(len(pcm)) * time.Second / wire.BytesPerSecond
		if len(pcm)%2 != 0 || dur < time.Second || dur > 10*time.Second {
			t.Errorf("%s: %d bytes = %v of 16 kHz audio for %d characters, want 1..10 s", voice, len(pcm), dur, len([]rune(sentence)))
		}
		if p, r := audio.Peak(pcm), rms(pcm); p < 0.3 || r < 0.03 {
			t.Errorf("%s: peak %.3f, RMS %.3f: too quiet to be speech", voice, p, r)
		}
		t.Logf("%s: %v of audio, peak %.2f, RMS %.3f", voice, dur, audio.Peak(pcm), rms(pcm))
	}
	slow, _ := s.Speak(context.Background(), sentence, "mandarin-slow")
	normal, _ := s.Speak(context.Background(), sentence, "")
	if len(slow) <= len(normal) {
		t.Errorf("mandarin-slow (%d bytes) is not longer than the default (%d bytes)", len(slow), len(normal))
	}
}

func TestPreviewIs16kMonoWAV(t *testing.T) {
	s := newSynth(t, shippedVoices, "")
	wav, err := s.Preview(context.Background(), sentence, "")
	if err != nil {
		t.Fatal(err)
	}
	pcm, src, err := audio.Convert(bytes.NewReader(wav), 1<<30)
	if err != nil || src.SampleRate != wire.SampleRate || src.Channels != 1 || src.Bits != 16 {
		t.Fatalf("preview is %s (%v), want %d Hz mono 16-bit", src, err, wire.SampleRate)
	}
	if want, _ := s.Speak(context.Background(), sentence, ""); !bytes.Equal(pcm, want) {
		t.Error("preview audio differs from Speak's")
	}
}

func TestSpeakCachesOnDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	eng := counting(NewEspeak())
	s := newSynth(t, shippedVoices, dir, eng)
	eng.calls.Store(0) // the self-check's probes
	first, err := s.Speak(context.Background(), sentence, "")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Speak(context.Background(), sentence, "")
	if err != nil || !bytes.Equal(first, again) || eng.calls.Load() != 1 {
		t.Fatalf("second Speak: err %v, identical %v, engine ran %d times; want cached", err, bytes.Equal(first, again), eng.calls.Load())
	}
	// A restarted controller finds it on disk; a different voice is a different entry.
	eng2 := counting(NewEspeak())
	s2 := newSynth(t, shippedVoices, dir, eng2)
	eng2.calls.Store(0)
	if pcm, err := s2.Speak(context.Background(), sentence, ""); err != nil || !bytes.Equal(pcm, first) || eng2.calls.Load() != 0 {
		t.Fatalf("after restart: err %v, identical %v, engine ran %d times", err, bytes.Equal(pcm, first), eng2.calls.Load())
	}
	if _, err := s2.Speak(context.Background(), sentence, "mandarin-slow"); err != nil || eng2.calls.Load() != 1 {
		t.Fatalf("other voice: err %v, engine ran %d times, want 1", err, eng2.calls.Load())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 2 || !strings.HasSuffix(files[0], ".pcm") || !strings.HasSuffix(files[1], ".pcm") {
		t.Errorf("cache holds %v, want two .pcm files and no temporary ones", files)
	}
}

func TestSpeakConcurrentSynthesizesOnce(t *testing.T) {
	for _, cacheDir := range []string{"", t.TempDir()} {
		eng := counting(NewEspeak())
		s := newSynth(t, shippedVoices, cacheDir, eng)
		eng.calls.Store(0)
		eng.hold = 300 * time.Millisecond
		var wg sync.WaitGroup
		results := make([][]byte, 8)
		start := make(chan struct{})
		for i := range results {
			wg.Go(func() {
				<-start
				pcm, err := s.Speak(context.Background(), sentence, "")
				if err != nil {
					t.Error(err)
				}
				results[i] = pcm
			})
		}
		close(start)
		wg.Wait()
		for _, r := range results[1:] {
			if !bytes.Equal(r, results[0]) {
				t.Fatal("concurrent callers got different audio")
			}
		}
		// Without a cache, a caller arriving after the first synthesis ended would run it
		// again; the 300 ms hold makes all eight arrive while it runs.
		if n := eng.calls.Load(); n != 1 {
			t.Errorf("cache %q: engine ran %d times for 8 concurrent requests, want 1", cacheDir, n)
		}
	}
}

func TestSpeakBadInput(t *testing.T) {
	eng := counting(NewEspeak())
	s := newSynth(t, shippedVoices, t.TempDir(), eng)
	for _, c := range []struct {
		name, text, voice string
		want              error
	}{
		{"empty", "", "", ErrEmptyText},
		{"whitespace", " \n\t　", "", ErrEmptyText},
		{"punctuation only", "。。。！", "", ErrEmptyText},
		{"too long", strings.Repeat("村", MaxTextRunes+1), "", ErrTextTooLong},
		{"unknown voice", sentence, "mandarin-robot", ErrUnknownVoice},
		{"cmn is not a voice name", sentence, "cmn", ErrUnknownVoice},
	} {
		if _, err := s.Speak(context.Background(), c.text, c.voice); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// The limit itself is allowed (checked without synthesizing eight minutes of speech).
	if _, _, err := s.prepare(strings.Repeat("村", MaxTextRunes), ""); err != nil {
		t.Errorf("exactly MaxTextRunes: %v", err)
	}
	// The engine breaks after start-up: Speak reports it, typed, and caches nothing.
	eng.inner.Store(&Espeak{Path: filepath.Join(t.TempDir(), "gone")})
	if _, err := s.Speak(context.Background(), "水库泄洪，请远离河道。", ""); !errors.Is(err, ErrEngineMissing) {
		t.Errorf("engine removed: got %v, want ErrEngineMissing", err)
	}
	eng.inner.Store(&Espeak{Path: "/bin/false"})
	if _, err := s.Speak(context.Background(), "水库泄洪，请远离河道。", ""); !errors.Is(err, ErrEngineFailed) {
		t.Errorf("engine failing: got %v, want ErrEngineFailed", err)
	}
}

func TestNewRefusesBrokenSetups(t *testing.T) {
	bad := func(name string, replace ...string) string {
		dir := t.TempDir()
		writeVoice(t, dir, name, voiceYAML(name, replace...))
		return dir
	}
	for _, c := range []struct {
		name, voices string
		engine       Engine
		want         error
	}{
		{"engine missing", shippedVoices, &Espeak{Path: "/nonexistent/espeak-ng"}, ErrEngineMissing},
		{"engine failing", shippedVoices, &Espeak{Path: "/bin/false"}, ErrEngineFailed},
		{"cmn voice", bad("v", "voice: cmn-latn-pinyin", "voice: cmn"), nil, ErrBuggyVoice},
		{"rate not what espeak-ng writes", bad("v", "sample_rate: 22050", "sample_rate: 16000"), nil, ErrEngineFailed},
	} {
		var engines []Engine
		if c.engine != nil {
			engines = append(engines, c.engine)
		}
		_, err := New(c.voices, "", slog.New(slog.NewTextHandler(t.Output(), nil)), engines...)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestCacheIgnoresDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	eng := counting(NewEspeak())
	s := newSynth(t, shippedVoices, dir, eng)
	want, err := s.Speak(context.Background(), sentence, "")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcm"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	if err := os.WriteFile(files[0], want[:len(want)-1], 0o644); err != nil { // odd length: torn
		t.Fatal(err)
	}
	eng.calls.Store(0)
	got, err := s.Speak(context.Background(), sentence, "")
	if err != nil || !bytes.Equal(got, want) || eng.calls.Load() != 1 {
		t.Fatalf("damaged entry: err %v, identical %v, engine ran %d times, want resynthesized", err, bytes.Equal(got, want), eng.calls.Load())
	}
	if b, _ := os.ReadFile(files[0]); len(b)%2 != 0 || binary.LittleEndian.Uint16(b) != binary.LittleEndian.Uint16(want) {
		t.Error("damaged entry not replaced")
	}
}
