package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"

	"dalaba/controller/audio"
)

// prepareAudio converts the upload once to the system format and stores it by content.
func (d *Dispatcher) prepareAudio(ctx context.Context, r io.Reader) (audio.Program, error) {
	pcm, src, err := audio.Convert(r, MaxAudioBytes)
	if errors.Is(err, audio.ErrBadAudio) {
		return audio.Program{}, inputErr("audio", fmt.Sprintf("音频文件无法使用：%v", err), err)
	}
	if err != nil {
		return audio.Program{}, fmt.Errorf("convert audio: %w", err)
	}
	return d.Programs.Put(ctx, pcm, src.String())
}
