package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"dalaba/proto/wire"
)

const testMax = 64 << 20

func mustWAV(t testing.TB, samples []int16, rate, channels int) []byte {
	t.Helper()
	b, err := EncodeWAV(samples, rate, channels)
	if err != nil {
		t.Fatalf("EncodeWAV: %v", err)
	}
	return b
}

// rawWAV writes a RIFF/WAVE by hand, for formats EncodeWAV will not produce.
func rawWAV(format uint16, channels, rate, bits int, fmtExtra, data []byte) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(4 + 8 + 16 + len(fmtExtra) + 8 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(16 + len(fmtExtra)))
	le(format)
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * bits / 8))
	le(uint16(channels * bits / 8))
	le(uint16(bits))
	b.Write(fmtExtra)
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// extensible is the 24-byte WAVE_FORMAT_EXTENSIBLE tail of a fmt chunk for sub-format tag.
func extensible(bits int, tag uint16) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint16(22))   // cbSize
	binary.Write(&b, binary.LittleEndian, uint16(bits)) // valid bits
	binary.Write(&b, binary.LittleEndian, uint32(0))    // channel mask
	binary.Write(&b, binary.LittleEndian, tag)
	b.Write([]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71})
	return b.Bytes()
}

func pcmSamples(pcm []byte) []int16 {
	s := make([]int16, len(pcm)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	return s
}

// toneShare is the fraction of the signal's energy at freq (Goertzel): ~1 for a pure tone
// at freq, ~0 for a tone elsewhere.
func toneShare(x []int16, rate, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2, energy float64
	for _, v := range x {
		f := float64(v)
		s1, s2 = f+coeff*s1-s2, s1
		energy += f * f
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return power * 2 / (float64(len(x)) * energy)
}

func TestConvertPassesSystemFormatThrough(t *testing.T) {
	samples := Tone(440, 1500*time.Millisecond, wire.SampleRate, 1, 0.8)
	pcm, src, err := Convert(bytes.NewReader(mustWAV(t, samples, wire.SampleRate, 1)), testMax)
	if err != nil {
		t.Fatal(err)
	}
	if want := int16sToBytes(samples); !bytes.Equal(pcm, want) {
		t.Fatalf("16 kHz mono not passed through byte-exact: got %d bytes, want %d", len(pcm), len(want))
	}
	if got, want := src.String(), "wav 16000Hz 1ch 16bit 1.50s"; got != want {
		t.Errorf("source = %q, want %q", got, want)
	}
}

func TestConvertResamplesTone(t *testing.T) {
	const dur = 2 * time.Second
	tests := []struct {
		rate, channels int
		source         string
	}{
		{44100, 2, "wav 44100Hz 2ch 16bit 2.00s"},
		{8000, 1, "wav 8000Hz 1ch 16bit 2.00s"},
		{48000, 2, "wav 48000Hz 2ch 16bit 2.00s"},
		{22050, 1, "wav 22050Hz 1ch 16bit 2.00s"},
		{16000, 2, "wav 16000Hz 2ch 16bit 2.00s"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			in := mustWAV(t, Tone(1000, dur, tt.rate, tt.channels, 0.5), tt.rate, tt.channels)
			pcm, src, err := Convert(bytes.NewReader(in), testMax)
			if err != nil {
				t.Fatal(err)
			}
			if src.String() != tt.source {
				t.Errorf("source = %q, want %q", src.String(), tt.source)
			}
			got := time.Duration(len(pcm)) * time.Second / wire.BytesPerSecond
			if diff := got - dur; diff < -3*time.Millisecond || diff > 3*time.Millisecond {
				t.Errorf("output lasts %v, want %v within 3ms", got, dur)
			}
			out := pcmSamples(pcm)
			if share := toneShare(out, wire.SampleRate, 1000); share < 0.95 {
				t.Errorf("energy share at 1 kHz = %.3f, want > 0.95", share)
			}
			for _, f := range []float64{500, 1500, 2000, 3000} {
				if share := toneShare(out, wire.SampleRate, f); share > 0.01 {
					t.Errorf("energy share at %v Hz = %.3f, want < 0.01", f, share)
				}
			}
		})
	}
}

func TestConvertDownmixAverages(t *testing.T) {
	in := []int16{1000, 3000, -32768, -32768, 32767, 32767, 32767, -32768, -7, 0}
	want := []int16{2000, -32768, 32767, 0, -3}
	pcm, _, err := Convert(bytes.NewReader(mustWAV(t, in, wire.SampleRate, 2)), testMax)
	if err != nil {
		t.Fatal(err)
	}
	if got := pcmSamples(pcm); !slicesEqual(got, want) {
		t.Fatalf("downmix = %v, want %v", got, want)
	}
}

func TestConvertIsDeterministic(t *testing.T) {
	// Program ids are hashes of the output, so the same upload must give the same bytes.
	in := mustWAV(t, Tone(700, 500*time.Millisecond, 44100, 2, 0.9), 44100, 2)
	a, _, err := Convert(bytes.NewReader(in), testMax)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Convert(bytes.NewReader(in), testMax)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two conversions of the same upload differ")
	}
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConvertAccepts(t *testing.T) {
	tone := Tone(1000, 100*time.Millisecond, 16000, 1, 0.5)
	data := int16sToBytes(tone)
	good := mustWAV(t, tone, 16000, 1)

	// A LIST chunk before the data whose INFO entry claims 4 GiB: go-audio/wav would
	// allocate that much; Convert must not hand it the chunk.
	var list bytes.Buffer
	list.WriteString("INFOINAM")
	binary.Write(&list, binary.LittleEndian, uint32(0xFFFFFFF0))
	list.WriteString("x")
	bomb := append([]byte{}, good[:36]...)
	bomb = append(bomb, "LIST"...)
	bomb = binary.LittleEndian.AppendUint32(bomb, uint32(list.Len()))
	bomb = append(bomb, list.Bytes()...)
	bomb = append(bomb, 0) // pad to even
	bomb = append(bomb, good[36:]...)

	tests := []struct {
		name string
		in   []byte
		max  int64
	}{
		{"WAVE_FORMAT_EXTENSIBLE PCM", rawWAV(waveFormatExtensible, 1, 16000, 16, extensible(16, 1), data), testMax},
		{"exactly maxBytes", good, int64(len(good))},
		{"truncated chunk after data", append(append([]byte{}, good...), "LIST\xff\x00\x00\x00abc"...), testMax},
		{"odd data length drops the half sample", rawWAV(1, 1, 16000, 16, nil, append(append([]byte{}, data...), 0x7f)), testMax},
		{"LIST entry claiming 4 GiB", bomb, testMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			pcm, _, err := Convert(bytes.NewReader(tt.in), tt.max)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pcm, data) {
				t.Errorf("got %d bytes of PCM, want the %d bytes of the tone", len(pcm), len(data))
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("Convert allocated %d MiB for a %d-byte file", alloc>>20, len(tt.in))
			}
		})
	}
}

func TestConvertRejects(t *testing.T) {
	tone := Tone(1000, time.Second, 16000, 1, 0.5)
	good := mustWAV(t, tone, 16000, 1) // 44-byte header + 32000 bytes of data
	samples := func(n, bytesPer int) []byte { return make([]byte, n*bytesPer) }

	tests := []struct {
		name string
		in   []byte
		max  int64
		want string
	}{
		{"not WAV", []byte("ID3\x04\x00\x00 surely an mp3"), testMax, "not a WAV/RIFF file"},
		{"RIFF but not WAVE", append([]byte("RIFF\x10\x00\x00\x00AVI "), good[12:]...), testMax, "not a WAV/RIFF file"},
		{"empty input", nil, testMax, "not a WAV/RIFF file"},
		{"truncated mid-data", good[:44+16000], testMax, "truncated: header says 32000 bytes of data, file holds 16000"},
		{"truncated mid-fmt", good[:30], testMax, `truncated: "fmt " chunk says 16 bytes, file holds 10`},
		{"8-bit", rawWAV(1, 1, 16000, 8, nil, samples(800, 1)), testMax, "unsupported bit depth 8"},
		{"24-bit", rawWAV(1, 1, 16000, 24, nil, samples(800, 3)), testMax, "unsupported bit depth 24"},
		{"24-bit extensible", rawWAV(waveFormatExtensible, 2, 48000, 24, extensible(24, 1), samples(800, 6)), testMax, "unsupported bit depth 24"},
		{"3 channels", mustWAV(t, Tone(1000, 10*time.Millisecond, 16000, 3, 0.5), 16000, 3), testMax, "3 channels"},
		{"96 kHz", mustWAV(t, Tone(1000, 10*time.Millisecond, 96000, 1, 0.5), 96000, 1), testMax, "unsupported sample rate 96000 Hz"},
		{"4 kHz", mustWAV(t, Tone(1000, 10*time.Millisecond, 4000, 1, 0.5), 4000, 1), testMax, "unsupported sample rate 4000 Hz"},
		{"float", rawWAV(waveFormatFloat, 1, 16000, 32, nil, samples(800, 4)), testMax, "non-PCM format 0x0003 (IEEE float)"},
		{"float extensible", rawWAV(waveFormatExtensible, 1, 16000, 32, extensible(32, 3), samples(800, 4)), testMax, "non-PCM format 0x0003 (IEEE float)"},
		{"mu-law", rawWAV(7, 1, 8000, 8, nil, samples(800, 1)), testMax, "non-PCM format 0x0007 (mu-law)"},
		{"empty data", mustWAV(t, nil, 16000, 1), testMax, "empty (no samples)"},
		{"half a stereo frame", rawWAV(1, 2, 16000, 16, nil, samples(1, 2)), testMax, "empty (no samples)"},
		{"over maxBytes", good, int64(len(good) - 1), "too large: over 32043 bytes"},
		{"no data chunk", good[:36], testMax, "no data chunk"},
		{"no fmt chunk", append([]byte("RIFF\x00\x00\x00\x00WAVE"), good[36:]...), testMax, "no fmt chunk"},
		{"short fmt chunk", append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00\x01\x00\x01\x00"), good[36:]...), testMax, "fmt chunk is 4 bytes"},
		{"too short to resample", rawWAV(1, 1, 48000, 16, nil, samples(1, 2)), testMax, "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm, _, err := Convert(bytes.NewReader(tt.in), tt.max)
			if !errors.Is(err, ErrBadAudio) {
				t.Fatalf("err = %v (%d bytes of PCM), want ErrBadAudio", err, len(pcm))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestConvertWithoutSox(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	// 16 kHz needs no resampling, so it still converts.
	if _, _, err := Convert(bytes.NewReader(mustWAV(t, Tone(1000, 50*time.Millisecond, 16000, 2, 0.5), 16000, 2)), testMax); err != nil {
		t.Fatalf("16 kHz without sox: %v", err)
	}
	_, _, err := Convert(bytes.NewReader(mustWAV(t, Tone(1000, 50*time.Millisecond, 44100, 1, 0.5), 44100, 1)), testMax)
	if err == nil || errors.Is(err, ErrBadAudio) || !errors.Is(err, ErrSoxMissing) {
		t.Fatalf("err = %v, want ErrSoxMissing and not ErrBadAudio", err)
	}
	if !strings.Contains(err.Error(), "sox binary") {
		t.Errorf("err = %q, want it to name the sox binary", err)
	}
}

func TestEncodeWAVRejectsBadInput(t *testing.T) {
	if _, err := EncodeWAV(make([]int16, 3), 16000, 2); err == nil {
		t.Fatal("3 samples as stereo: want an error")
	}
	for _, rate := range []int{0, -1, 2_000_000_000} {
		if _, err := EncodeWAV(nil, rate, 1); err == nil {
			t.Errorf("%d Hz: want an error", rate)
		}
	}
}
