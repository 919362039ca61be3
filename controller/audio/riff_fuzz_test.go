package audio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzScanWAV feeds the RIFF pre-scan (the part of WAV parsing that trusts nothing: chunk
// sizes, truncation, duplicates) arbitrary bytes. It must never panic; what it refuses wraps
// ErrBadAudio; what it accepts lies inside the input (fmt at least 16 bytes), and the canonical
// file it builds for the decoder scans back to the same chunks, a whole number of samples.
func FuzzScanWAV(f *testing.F) {
	chime, err := os.ReadFile(filepath.Join("..", "..", "testdata", "chime.wav"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(chime[:256])
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := scanWAV(in)
		if err != nil {
			if !errors.Is(err, ErrBadAudio) {
				t.Fatalf("refusal not wrapping ErrBadAudio: %v", err)
			}
			return
		}
		if len(c.fmt) < 16 || !bytes.Contains(in, c.fmt) || !bytes.Contains(in, c.data) {
			t.Fatalf("accepted chunks not in the input: fmt %d bytes, data %d bytes", len(c.fmt), len(c.data))
		}
		canon := c.canonical()
		again, err := scanWAV(canon)
		if err != nil {
			t.Fatalf("canonical file refused: %v", err)
		}
		if !bytes.Equal(again.fmt, c.fmt) || !bytes.Equal(again.data, c.data[:len(c.data)&^1]) || len(again.data)%2 != 0 {
			t.Fatalf("canonical file scans to other chunks: fmt %x/%x, data %d/%d bytes", again.fmt, c.fmt, len(again.data), len(c.data))
		}
	})
}
