package tts

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"dalaba/controller/audio"
)

// espeak-ng's header declares a placeholder data size that audio.Convert refuses as truncated;
// repaired, the same bytes convert.
func TestFixStreamingHeader(t *testing.T) {
	wav, err := NewEspeak().Synthesize(context.Background(), "各位村民请注意", testVoice)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := audio.Convert(bytes.NewReader(wav), maxWAVBytes); !errors.Is(err, audio.ErrBadAudio) {
		t.Fatalf("espeak-ng's raw WAV converted (err %v): its header is no longer a streaming one, revisit fixStreamingHeader", err)
	}
	for _, placeholder := range []uint32{0, 0xFFFFFFFF, binary.LittleEndian.Uint32(wav[40:44])} {
		w := bytes.Clone(wav)
		binary.LittleEndian.PutUint32(w[40:44], placeholder)
		pcm, src, err := audio.Convert(bytes.NewReader(fixStreamingHeader(w)), maxWAVBytes)
		if err != nil || src.SampleRate != 22050 || src.Duration < 500*time.Millisecond {
			t.Fatalf("placeholder %#x: %v, %s, %d bytes", placeholder, err, src, len(pcm))
		}
	}
	good, err := audio.EncodeWAV(audio.Tone(440, 100*time.Millisecond, 16000, 1, 0.5), 16000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fixStreamingHeader(good), good) {
		t.Error("a well-formed WAV was changed")
	}
	if got := fixStreamingHeader([]byte("not a wav")); string(got) != "not a wav" {
		t.Errorf("non-WAV changed to %q", got)
	}
}
