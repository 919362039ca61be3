package limits

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// sparseWAV is a WAV header followed by size bytes of silence, without holding them.
type sparseWAV struct {
	head []byte
	size int64
}

func (s sparseWAV) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off+int64(n) < s.size {
		if i := off + int64(n); i < int64(len(s.head)) {
			p[n] = s.head[i]
		} else {
			p[n] = 0
		}
		n++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func wavHeader(rate, channels int, dataBytes uint32) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, dataBytes)
}

func TestWAVDuration(t *testing.T) {
	cases := []struct {
		name      string
		rate, ch  int
		declared  uint32
		held      int64
		want      time.Duration
		wantKnown bool
	}{
		{"30 min at 8 kHz mono", 8000, 1, 8000 * 2 * 1800, 8000 * 2 * 1800, 30 * time.Minute, true},
		{"31 min at 8 kHz mono", 8000, 1, 8000 * 2 * 1860, 8000 * 2 * 1860, 31 * time.Minute, true},
		{"10 min at 48 kHz stereo", 48000, 2, 48000 * 4 * 600, 48000 * 4 * 600, 10 * time.Minute, true},
		// A header claiming 4 GiB over a short file counts what is there.
		{"header lies", 8000, 1, 0xFFFFFFFF, 16000, time.Second, true},
		{"no channels", 8000, 0, 16000, 16000, 0, false},
	}
	for _, c := range cases {
		h := wavHeader(c.rate, c.ch, c.declared)
		d, ok := WAVDuration(sparseWAV{h, int64(len(h)) + c.held}, int64(len(h))+c.held)
		if d != c.want || ok != c.wantKnown {
			t.Errorf("%s: %v, %v; want %v, %v", c.name, d, ok, c.want, c.wantKnown)
		}
	}
	if _, ok := WAVDuration(bytes.NewReader([]byte("ID3\x03 not a wav")), 15); ok {
		t.Error("an MP3 was given a duration")
	}
	if got := (&TooLongError{Duration: 31*time.Minute + 5*time.Second, Limit: MaxProgramDuration}).Chinese(); got != "音频时长 31 分 5 秒 超过上限 30 分钟，请剪短或分段播出" {
		t.Errorf("message %q", got)
	}
}
