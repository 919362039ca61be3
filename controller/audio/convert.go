// Package audio turns uploaded programs into the system audio format (wire.SampleRate mono
// 16-bit PCM), stores them by content hash and streams them to terminal agents over gRPC.
package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"

	"dalaba/proto/wire"
)

// ErrBadAudio marks an upload we refuse: the message says what is wrong with it. Anything else
// returned by Convert is our own failure (sox missing, sox crashed), not the uploader's.
var ErrBadAudio = errors.New("bad audio")

// Accepted source formats. Below 8 kHz speech is already mangled; above 48 kHz is studio
// material nobody should be uploading to a loudspeaker network.
const (
	minSourceRate = 8000
	maxSourceRate = 48000
)

// SourceInfo describes what a program was converted from.
type SourceInfo struct {
	SampleRate int
	Channels   int
	Bits       int
	Duration   time.Duration
}

// String is the short form stored with the program, e.g. "wav 44100Hz 2ch 16bit 2.00s".
func (s SourceInfo) String() string {
	return fmt.Sprintf("wav %dHz %dch %dbit %.2fs", s.SampleRate, s.Channels, s.Bits, s.Duration.Seconds())
}

// Convert reads a WAV upload of at most maxBytes and returns it as system-format PCM
// (16 kHz, mono, s16le). Uploads we cannot or will not play wrap ErrBadAudio.
func Convert(r io.Reader, maxBytes int64) (pcm []byte, src SourceInfo, err error) {
	if maxBytes <= 0 {
		return nil, src, fmt.Errorf("convert: maxBytes must be positive, got %d", maxBytes)
	}
	// Read one byte past the limit so "exactly maxBytes" is allowed and one more is not.
	raw, err := io.ReadAll(io.LimitReader(r, min(maxBytes, math.MaxInt64-1)+1))
	if err != nil {
		return nil, src, fmt.Errorf("convert: read upload: %w", err)
	}
	if int64(len(raw)) > maxBytes {
		return nil, src, badAudio("too large: over %d bytes", maxBytes)
	}
	chunks, err := scanWAV(raw)
	if err != nil {
		return nil, src, err
	}
	samples, src, err := decode(chunks)
	if err != nil {
		return nil, src, err
	}
	mono := downmix(samples, src.Channels)

	if src.SampleRate == wire.SampleRate {
		pcm = int16sToBytes(mono)
	} else {
		pcm, err = resample(int16sToBytes(mono), src.SampleRate)
		if err != nil {
			return nil, src, err
		}
		if len(pcm) == 0 {
			return nil, src, badAudio("too short: %d samples at %d Hz give no %d Hz samples",
				len(mono), src.SampleRate, wire.SampleRate)
		}
	}
	return pcm, src, nil
}

// decode validates the fmt chunk with go-audio/wav and returns the interleaved samples.
func decode(c wavChunks) ([]int16, SourceInfo, error) {
	var src SourceInfo
	d := wav.NewDecoder(bytes.NewReader(c.canonical()))
	d.ReadInfo()
	if err := d.Err(); err != nil {
		return nil, src, badAudio("unreadable WAV header: %v", err)
	}
	if code, name := c.formatCode(d.WavAudioFormat); code != waveFormatPCM {
		return nil, src, badAudio("non-PCM format 0x%04x (%s); want 16-bit PCM", code, name)
	}
	src = SourceInfo{SampleRate: int(d.SampleRate), Channels: int(d.NumChans), Bits: int(d.BitDepth)}
	switch {
	case src.Bits != 16:
		return nil, src, badAudio("unsupported bit depth %d; want 16-bit", src.Bits)
	case src.Channels != 1 && src.Channels != 2:
		return nil, src, badAudio("%d channels; want 1 (mono) or 2 (stereo)", src.Channels)
	case src.SampleRate < minSourceRate || src.SampleRate > maxSourceRate:
		return nil, src, badAudio("unsupported sample rate %d Hz; want %d to %d Hz",
			src.SampleRate, minSourceRate, maxSourceRate)
	}

	want := len(c.data) / 2
	samples := make([]int16, 0, want)
	buf := &goaudio.IntBuffer{Data: make([]int, 8192)}
	for {
		n, err := d.PCMBuffer(buf)
		if err != nil {
			return nil, src, fmt.Errorf("decode wav samples: %w", err)
		}
		if n == 0 {
			break
		}
		for _, v := range buf.Data[:n] {
			samples = append(samples, int16(v))
		}
	}
	// The canonical file has exactly want samples; anything else is a decoder surprise.
	if len(samples) != want {
		return nil, src, fmt.Errorf("decode wav samples: decoder returned %d samples, data chunk holds %d", len(samples), want)
	}
	// A trailing partial frame (half a stereo pair) carries nothing playable.
	samples = samples[:len(samples)-len(samples)%src.Channels]
	frames := len(samples) / src.Channels
	if frames == 0 {
		return nil, src, badAudio("empty (no samples)")
	}
	src.Duration = time.Duration(frames) * time.Second / time.Duration(src.SampleRate)
	return samples, src, nil
}

// downmix averages stereo pairs; averaging (not summing) cannot clip.
func downmix(samples []int16, channels int) []int16 {
	if channels == 1 {
		return samples
	}
	mono := make([]int16, len(samples)/2)
	for i := range mono {
		mono[i] = int16((int32(samples[2*i]) + int32(samples[2*i+1])) / 2)
	}
	return mono
}

func int16sToBytes(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		b[2*i] = byte(v)
		b[2*i+1] = byte(uint16(v) >> 8)
	}
	return b
}
