package audio

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"dalaba/proto/wire"
)

// FuzzConvert feeds Convert arbitrary uploads. It must never panic, and whatever it accepts
// must be whole 16 kHz mono samples lasting as long as the source said.
func FuzzConvert(f *testing.F) {
	for _, s := range []struct{ rate, ch int }{{16000, 1}, {8000, 1}, {16000, 2}, {44100, 2}} {
		b, err := EncodeWAV(Tone(1000, 20*time.Millisecond, s.rate, s.ch, 0.5), s.rate, s.ch)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 1 << 20
		pcm, src, err := Convert(bytes.NewReader(in), max)
		if err != nil {
			if pcm != nil {
				t.Fatalf("error %v with %d bytes of PCM", err, len(pcm))
			}
			// Bad uploads wrap ErrBadAudio. Other errors are our own failures (sox missing or
			// crashing, the decoder disagreeing with the pre-scan): none should happen on a
			// healthy host, whatever the input.
			if !errors.Is(err, ErrBadAudio) {
				t.Fatalf("error not wrapping ErrBadAudio: %v", err)
			}
			return
		}
		if len(pcm) == 0 || len(pcm)%2 != 0 {
			t.Fatalf("accepted with %d bytes of PCM, want a non-empty even length", len(pcm))
		}
		if len(in) > max {
			t.Fatalf("accepted a %d-byte upload over the %d-byte limit", len(in), max)
		}
		if src.Bits != 16 || (src.Channels != 1 && src.Channels != 2) || src.SampleRate < minSourceRate || src.SampleRate > maxSourceRate {
			t.Fatalf("accepted unsupported source %s", src)
		}
		// Output length matches the source duration to within the resampler's edge (a few
		// samples) plus the rounding of both durations.
		got := time.Duration(len(pcm)) * time.Second / wire.BytesPerSecond
		if diff := got - src.Duration; diff < -2*time.Millisecond || diff > 2*time.Millisecond {
			t.Fatalf("output lasts %v, source %s", got, src)
		}
		if src.SampleRate == wire.SampleRate && src.Channels == 1 && !bytes.Contains(in, pcm) {
			t.Fatal("16 kHz mono input was not passed through unchanged")
		}
	})
}
