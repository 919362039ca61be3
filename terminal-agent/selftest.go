package agent

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink"
)

// The self-test tone when the command leaves a field at zero: short and quiet, so that a test
// in a village square is barely heard.
const (
	selfTestHz    = 1000
	selfTestMs    = 500
	selfTestLevel = 0.05
)

// selfTest plays a tone through the sink at the current volume and reports what went to the
// device. The sink takes one Play at a time, so a tone asked for during a broadcast waits for
// it to end and never mixes with it.
//
// Peak and RMS are measured on the samples handed to the device (as proof of play is), not
// heard by a microphone: this terminal has none.
func (c *control) selfTest(st *dalabapb.SelfTest, r *dalabapb.ControlReply, log *slog.Logger) {
	hz, ms, lvl, err := selfTestParams(st)
	if err != nil {
		r.Error = err.Error()
		return
	}
	vol := c.volume.Get()
	played, err := c.sink.Play(c.ctx, apply(tone(hz, lvl, time.Duration(ms)*time.Millisecond), vol))
	r.SelfTest = playReport(played, vol, c.offset)
	if err != nil {
		r.Error = fmt.Sprintf("self-test tone: %v", err)
		return
	}
	r.Ok = true
	log.Info("self-test played", "hz", hz, "ms", ms, "level", lvl, "volume", vol, "peak", played.Peak, "rms", played.RMS)
}

// playReport is the proof of one Play. Peak and RMS are measured on what went to the device,
// so they include the volume; times on the agent's clock (real + offset).
func playReport(p sink.Played, volume int32, offset time.Duration) *dalabapb.PlayReport {
	r := &dalabapb.PlayReport{Bytes: p.Bytes, DurationMs: p.Duration().Milliseconds(), Peak: p.Peak, Rms: p.RMS, Volume: volume}
	if !p.Start.IsZero() {
		r.StartedUnixMs, r.EndedUnixMs = p.Start.Add(offset).UnixMilli(), p.End.Add(offset).UnixMilli()
	}
	return r
}

func selfTestParams(st *dalabapb.SelfTest) (hz, ms int32, level float64, err error) {
	hz, ms, level = st.GetToneHz(), st.GetDurationMs(), st.GetLevel()
	if hz == 0 {
		hz = selfTestHz
	}
	if ms == 0 {
		ms = selfTestMs
	}
	if level == 0 {
		level = selfTestLevel
	}
	switch {
	case hz < 20 || hz >= wire.SampleRate/2:
		return 0, 0, 0, fmt.Errorf("self-test tone %d Hz: want 20 to %d", hz, wire.SampleRate/2-1)
	case ms < 10 || ms > 10_000:
		return 0, 0, 0, fmt.Errorf("self-test duration %d ms: want 10 to 10000", ms)
	case !(level > 0 && level <= 1):
		return 0, 0, 0, fmt.Errorf("self-test level %g: want above 0, at most 1", level)
	}
	return hz, ms, level, nil
}

// tone is a sine in the system format at level (0..1 of full scale). The phase starts a
// quarter sample in so that no sample of a tone at a divisor of the rate sits on zero.
func tone(hz int32, level float64, d time.Duration) []byte {
	n := int(int64(d) * wire.SampleRate / int64(time.Second))
	b := make([]byte, 2*n)
	for i := range n {
		v := level * 32767 * math.Sin(2*math.Pi*float64(hz)*(float64(i)+0.25)/wire.SampleRate)
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(math.Round(v))))
	}
	return b
}
