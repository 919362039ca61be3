package live

import "encoding/binary"

// scale returns a copy of pcm at percent volume (the sink may keep what it is given).
func scale(pcm []byte, percent int32) []byte {
	out := make([]byte, len(pcm)&^1)
	if percent >= 100 {
		copy(out, pcm)
		return out
	}
	for i := 0; i+1 < len(pcm); i += 2 {
		s := int32(int16(binary.LittleEndian.Uint16(pcm[i:])))
		binary.LittleEndian.PutUint16(out[i:], uint16(int16(s*percent/100)))
	}
	return out
}
