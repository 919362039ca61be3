package limits

import (
	"bytes"
	"testing"
	"time"

	"dalaba/controller/audio"
)

// FuzzWAVDuration: the duration pre-check never panics and never lets through a file longer
// than it said: whenever the converter accepts a file, WAVDuration read its headers and came
// to exactly the converter's duration. So no header trick gets an over-long program past the
// limit and into the converter.
func FuzzWAVDuration(f *testing.F) {
	for _, s := range []struct{ rate, ch int }{{16000, 1}, {8000, 2}, {44100, 2}} {
		b, err := audio.EncodeWAV(audio.Tone(440, 30*time.Millisecond, s.rate, s.ch, 0.5), s.rate, s.ch)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, ok := WAVDuration(bytes.NewReader(in), int64(len(in)))
		if ok && d < 0 {
			t.Fatalf("negative duration %v", d)
		}
		_, src, err := audio.Convert(bytes.NewReader(in), 1<<20)
		if err != nil {
			return
		}
		if !ok || d != src.Duration {
			t.Fatalf("converter accepted %s; pre-check said %v, %v", src, d, ok)
		}
	})
}
