package dispatch

import (
	"context"
	"errors"
	"fmt"

	"dalaba/controller/audio"
)

// program is converted audio ready to send, with the peak that proofs of play are checked
// against.
type program struct {
	audio.Program
	peak float64
}

// prepareAudio converts the upload once to the system format and stores it by content.
func (d *Dispatcher) prepareAudio(ctx context.Context, req Request) (program, error) {
	if req.LiveID != "" {
		return program{}, nil // live speech arrives as it is spoken
	}
	if req.PCM != nil {
		p, err := d.Programs.Put(ctx, req.PCM, req.Source)
		return program{Program: p, peak: audio.Peak(req.PCM)}, err
	}
	pcm, src, err := audio.Convert(req.Audio, MaxAudioBytes)
	if errors.Is(err, audio.ErrBadAudio) {
		return program{}, inputErr("audio", fmt.Sprintf("音频文件无法使用：%v", err), err)
	}
	if err != nil {
		return program{}, fmt.Errorf("convert audio: %w", err)
	}
	p, err := d.Programs.Put(ctx, pcm, src.String())
	return program{Program: p, peak: audio.Peak(pcm)}, err
}
