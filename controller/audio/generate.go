package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// EncodeWAV writes interleaved 16-bit samples as a PCM WAV file. Tests and the CLI use it to
// make uploads; the system itself never produces WAV.
func EncodeWAV(samples []int16, sampleRate, channels int) ([]byte, error) {
	// go-audio/wav divides by (1s / sampleRate) when sizing its buffer, so absurd rates would
	// panic rather than fail.
	if sampleRate <= 0 || sampleRate > 384000 || channels <= 0 || channels > 32 {
		return nil, fmt.Errorf("encode wav: unsupported format %d Hz %d channels", sampleRate, channels)
	}
	if len(samples)%channels != 0 {
		return nil, fmt.Errorf("encode wav: %d samples is not a whole number of %d-channel frames", len(samples), channels)
	}
	data := make([]int, len(samples))
	for i, s := range samples {
		data[i] = int(s)
	}
	ws := &memWriteSeeker{}
	enc := wav.NewEncoder(ws, sampleRate, 16, channels, waveFormatPCM)
	// Write even when there are no samples so the file still gets its (empty) data chunk.
	buf := &goaudio.IntBuffer{
		Data:           data,
		Format:         &goaudio.Format{NumChannels: channels, SampleRate: sampleRate},
		SourceBitDepth: 16,
	}
	if err := enc.Write(buf); err != nil {
		return nil, fmt.Errorf("encode wav: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode wav: close: %w", err)
	}
	return ws.buf, nil
}

// Tone returns dur of a sine at freqHz, amplitude a fraction of full scale (clamped to 0..1),
// with the same signal on every channel, interleaved.
func Tone(freqHz float64, dur time.Duration, sampleRate, channels int, amplitude float64) []int16 {
	if sampleRate <= 0 || channels <= 0 || dur <= 0 {
		return nil
	}
	amplitude = math.Max(0, math.Min(1, amplitude))
	frames := int(dur.Seconds() * float64(sampleRate))
	out := make([]int16, frames*channels)
	for i := range frames {
		v := int16(math.Round(amplitude * math.MaxInt16 * math.Sin(2*math.Pi*freqHz*float64(i)/float64(sampleRate))))
		for c := range channels {
			out[i*channels+c] = v
		}
	}
	return out
}

// memWriteSeeker is the in-memory io.WriteSeeker the wav encoder needs: it seeks back to
// patch chunk sizes once the data length is known.
type memWriteSeeker struct {
	buf []byte
	pos int
}

func (m *memWriteSeeker) Write(p []byte) (int, error) {
	if end := m.pos + len(p); end > len(m.buf) {
		m.buf = append(m.buf, make([]byte, end-len(m.buf))...)
	}
	n := copy(m.buf[m.pos:], p)
	m.pos += n
	return n, nil
}

func (m *memWriteSeeker) Seek(offset int64, whence int) (int64, error) {
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = int64(m.pos)
	case io.SeekEnd:
		base = int64(len(m.buf))
	default:
		return 0, errors.New("memWriteSeeker: bad whence")
	}
	pos := base + offset
	if pos < 0 {
		return 0, errors.New("memWriteSeeker: negative position")
	}
	m.pos = int(pos)
	return pos, nil
}

// Peak is the largest absolute sample of system-format PCM, as a fraction of full scale.
func Peak(pcm []byte) float64 {
	var top int32
	for i := 0; i+1 < len(pcm); i += 2 {
		v := int32(int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8))
		top = max(top, v, -v)
	}
	return float64(top) / 32768
}
