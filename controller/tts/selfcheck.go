package tts

import (
	"context"
	"fmt"
	"time"

	"dalaba/controller/audio"
	"dalaba/proto/wire"
)

// selfCheckProbe is short hanzi text (8 syllables and a pause) that the broken cmn voice
// misreads (公开).
const selfCheckProbe = "政务公开，请注意收听。"

// Plausible length of the probe: 8 syllables last about 1.2 s at 450 words per minute and 7 s
// at 80 (measured with espeak-ng 1.51); a voice reading it as English letters and tone digits,
// or an engine writing silence or garbage, falls outside or trips the other checks.
const minProbe, maxProbe = 500 * time.Millisecond, 15 * time.Second

// selfCheck proves at start-up, not at the first emergency, that a voice speaks: the engine is
// installed, reads hanzi as Mandarin (where it can tell), and a probe gives audio of plausible
// length that is not silent.
func (s *Synthesizer) selfCheck(ctx context.Context, v Voice) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	e, ok := s.engines[v.Engine]
	if !ok {
		return fmt.Errorf("%w: no engine %q", ErrEngineMissing, v.Engine)
	}
	if c, ok := e.(voiceChecker); ok {
		if err := c.CheckVoice(ctx, v); err != nil {
			return err
		}
	}
	start := time.Now()
	pcm, err := s.synthesize(ctx, v, Normalize(selfCheckProbe))
	if err != nil {
		return err
	}
	took := time.Since(start)
	dur := time.Duration(len(pcm)) * time.Second / wire.BytesPerSecond
	if dur < minProbe || dur > maxProbe {
		return fmt.Errorf("%w: probe %q gave %v of audio, want %v..%v", ErrEngineFailed, selfCheckProbe, dur, minProbe, maxProbe)
	}
	peak := audio.Peak(pcm)
	if peak < 0.05 {
		return fmt.Errorf("%w: probe %q is silent (peak %.3f of full scale)", ErrEngineFailed, selfCheckProbe, peak)
	}
	if peak > 0.999 {
		s.log.Warn("tts voice reaches full scale and may clip; lower its volume", "voice", v.Name, "file", v.File, "volume", v.Volume)
	}
	s.log.Info("tts voice checked", "voice", v.Name, "engine", e.Name(), "probe_audio", dur.Round(time.Millisecond), "took", took.Round(time.Millisecond))
	return nil
}
