package limits

import (
	"encoding/binary"
	"io"
	"time"
)

// WAVDuration reads how long a WAV upload of size bytes plays, from its fmt and data chunk
// headers alone, so that an over-long program is refused before it is converted. It counts as
// the converter does (whole 16-bit frames of the first data chunk; a chunk cut short by the end
// of the file counts what is there). ok is false when the headers cannot say (not a WAV, no
// fmt or data chunk, no channels or rate): the converter then refuses the file itself.
func WAVDuration(r io.ReaderAt, size int64) (d time.Duration, ok bool) {
	var head [12]byte
	if size < 12 || !readFull(r, head[:], 0) || string(head[0:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		return 0, false
	}
	var channels, rate int64
	data := int64(-1)
	for off := int64(12); (channels == 0 || data < 0) && size-off >= 8; {
		var ch [8]byte
		if !readFull(r, ch[:], off) {
			return 0, false
		}
		body, n := off+8, int64(binary.LittleEndian.Uint32(ch[4:8]))
		held := min(n, size-body)
		switch string(ch[0:4]) {
		case "fmt ":
			var f [8]byte
			if channels != 0 || held < 16 || !readFull(r, f[:], body) {
				return 0, false
			}
			channels, rate = int64(binary.LittleEndian.Uint16(f[2:4])), int64(binary.LittleEndian.Uint32(f[4:8]))
			if channels == 0 || rate == 0 {
				return 0, false
			}
		case "data":
			if data >= 0 {
				return 0, false
			}
			data = held
		}
		off = body + n + n&1
	}
	if channels == 0 || data < 0 {
		return 0, false
	}
	frames := data / 2 / channels
	return time.Duration(frames) * time.Second / time.Duration(rate), true
}

func readFull(r io.ReaderAt, p []byte, off int64) bool {
	n, err := r.ReadAt(p, off)
	return n == len(p) && (err == nil || err == io.EOF)
}
