package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The only RIFF walking done here is what go-audio/wav cannot be trusted with:
//   - it reads a data chunk through an io.LimitReader, so a file cut short mid-data decodes
//     "successfully" with fewer samples than the header declares;
//   - it allocates LIST, smpl and fmt chunk bodies (and LIST sub-entries) at their declared
//     size, so a 60-byte upload can ask for 4 GiB;
//   - it ignores short reads of chunk sizes and of the fmt fields.
// So we locate fmt and data ourselves, check their sizes against the bytes we hold, and hand
// the decoder a canonical RIFF/WAVE holding only those two chunks.

const (
	waveFormatPCM        = 0x0001
	waveFormatFloat      = 0x0003
	waveFormatExtensible = 0xFFFE
)

// wavChunks is what the pre-scan found.
type wavChunks struct {
	fmt  []byte // body of the fmt chunk, at least 16 bytes
	data []byte // body of the data chunk, exactly as declared
}

// scanWAV checks the RIFF/WAVE envelope and returns the fmt and data chunk bodies.
func scanWAV(b []byte) (wavChunks, error) {
	if len(b) < 12 || !bytes.Equal(b[0:4], []byte("RIFF")) || !bytes.Equal(b[8:12], []byte("WAVE")) {
		return wavChunks{}, badAudio("not a WAV/RIFF file")
	}
	var c wavChunks
	var haveFmt, haveData bool
	off := 12
	for !(haveFmt && haveData) {
		if len(b)-off < 8 {
			switch {
			case !haveFmt && !haveData:
				return c, badAudio("no fmt or data chunk (file ends after %d bytes)", len(b))
			case !haveFmt:
				return c, badAudio("no fmt chunk")
			default:
				return c, badAudio("no data chunk")
			}
		}
		id := string(b[off : off+4])
		size := int64(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		held := int64(len(b) - body)
		if size > held {
			if id == "data" {
				return c, badAudio("truncated: header says %d bytes of data, file holds %d", size, held)
			}
			return c, badAudio("truncated: %q chunk says %d bytes, file holds %d", id, size, held)
		}
		switch id {
		case "fmt ":
			if haveFmt {
				return c, badAudio("two fmt chunks")
			}
			if size < 16 {
				return c, badAudio("fmt chunk is %d bytes, want at least 16", size)
			}
			c.fmt, haveFmt = b[body:body+int(size)], true
		case "data":
			if haveData {
				return c, badAudio("two data chunks")
			}
			c.data, haveData = b[body:body+int(size)], true
		}
		// Chunks are word aligned: an odd-sized body is followed by a pad byte.
		off = body + int(size) + int(size&1)
		if off > len(b) {
			off = len(b)
		}
	}
	return c, nil
}

// formatCode looks through the decoder's format tag when it is WAVE_FORMAT_EXTENSIBLE (ffmpeg
// and many editors write plain PCM that way; go-audio/wav drops the extension) and returns
// the effective tag and a name for messages.
func (c wavChunks) formatCode(code uint16) (uint16, string) {
	if code == waveFormatExtensible && len(c.fmt) >= 26 {
		// cbSize(2) validBits(2) channelMask(4), then the SubFormat GUID whose first two
		// bytes are the plain format tag.
		code = binary.LittleEndian.Uint16(c.fmt[24:26])
	}
	switch code {
	case waveFormatPCM:
		return code, "PCM"
	case waveFormatFloat:
		return code, "IEEE float"
	case 0x0002, 0x0011:
		return code, "ADPCM"
	case 0x0006:
		return code, "A-law"
	case 0x0007:
		return code, "mu-law"
	case 0x0055:
		return code, "MP3"
	case waveFormatExtensible:
		return code, "extensible without sub-format"
	}
	return code, "compressed"
}

// canonical rebuilds a minimal RIFF/WAVE holding only fmt and data. The data is trimmed to a
// whole number of 16-bit samples: only 16-bit is accepted, and an odd byte would make the
// decoder read the pad byte as half a sample.
func (c wavChunks) canonical() []byte {
	fmtBody := c.fmt
	data := c.data[:len(c.data)&^1]
	out := make([]byte, 0, 12+8+len(fmtBody)+1+8+len(data))
	out = append(out, "RIFF"...)
	out = binary.LittleEndian.AppendUint32(out, 0) // patched below
	out = append(out, "WAVE"...)
	out = append(out, "fmt "...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(fmtBody)))
	out = append(out, fmtBody...)
	if len(fmtBody)%2 == 1 {
		out = append(out, 0)
	}
	out = append(out, "data"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	binary.LittleEndian.PutUint32(out[4:8], uint32(len(out)-8))
	return out
}

// badAudio builds an ErrBadAudio-wrapped error.
func badAudio(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadAudio, fmt.Sprintf(format, args...))
}
