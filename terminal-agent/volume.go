package agent

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// level is the terminal's output volume in percent, applied to the PCM before it reaches the
// sink (a village horn's amplifier has no software-visible gain of its own here).
type level struct{ v atomic.Int32 }

func newLevel(percent int32) (*level, error) {
	l := new(level)
	return l, l.Set(percent)
}

func (l *level) Get() int32 { return l.v.Load() }

// Set changes the volume; out-of-range values are refused, not clamped.
func (l *level) Set(percent int32) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("volume %d: want 0 (mute) to 100", percent)
	}
	l.v.Store(percent)
	return nil
}

// apply returns pcm scaled to percent; at 100 it is pcm itself.
func apply(pcm []byte, percent int32) []byte {
	if percent >= 100 {
		return pcm
	}
	out := make([]byte, len(pcm)&^1)
	for i := 0; i+1 < len(pcm); i += 2 {
		s := int32(int16(binary.LittleEndian.Uint16(pcm[i:])))
		binary.LittleEndian.PutUint16(out[i:], uint16(int16(s*percent/100)))
	}
	return out
}
