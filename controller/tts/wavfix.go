package tts

import (
	"bytes"
	"encoding/binary"
)

// fixStreamingHeader returns wav with its RIFF and data chunk sizes taken from the bytes
// actually there. espeak-ng writes its WAV as a stream (to a pipe it cannot seek back on), so
// the header holds a placeholder size: 0x7ffff000 in 1.51, 0 or 0xFFFFFFFF from other streaming
// writers. audio.Convert rightly rejects such a file as truncated, and it is right to for
// uploads, so the repair happens here, for engine output only. The data size is rewritten only
// when it is a placeholder or overruns the file: a well-formed WAV passes through unchanged.
func fixStreamingHeader(wav []byte) []byte {
	if len(wav) < 12 || !bytes.Equal(wav[:4], []byte("RIFF")) || !bytes.Equal(wav[8:12], []byte("WAVE")) {
		return wav // not a WAV at all; audio.Convert says so
	}
	out := bytes.Clone(wav)
	for off := 12; off+8 <= len(out); {
		size := int64(binary.LittleEndian.Uint32(out[off+4 : off+8]))
		held := int64(len(out) - off - 8)
		if string(out[off:off+4]) == "data" {
			if size == 0 || size == 0xFFFFFFFF || size > held {
				binary.LittleEndian.PutUint32(out[off+4:off+8], uint32(held))
			}
			break
		}
		off += 8 + int(min(size+size&1, held))
	}
	binary.LittleEndian.PutUint32(out[4:8], uint32(len(out)-8))
	return out
}

// samples reads system-format PCM (s16le) as samples.
func samples(pcm []byte) []int16 {
	out := make([]int16, len(pcm)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	return out
}
