package tts

import (
	"context"
	"errors"
)

// Engine synthesizes already normalized text with a voice and returns a WAV file. It may
// return a WAV with a streaming header (data size unknown); the Synthesizer repairs it.
type Engine interface {
	// Name is what voice files put in their engine field.
	Name() string
	Synthesize(ctx context.Context, text string, v Voice) (wav []byte, err error)
}

// voiceChecker is implemented by engines that can tell, beyond producing audio, whether a
// voice reads Mandarin properly. New runs it once per voice at start-up.
type voiceChecker interface {
	CheckVoice(ctx context.Context, v Voice) error
}

var (
	// ErrEngineMissing: the engine is not installed (espeak-ng not on PATH). An installation
	// problem, to be fixed on the controller host, never retried per request.
	ErrEngineMissing = errors.New("speech engine not installed")
	// ErrUnavailable is what a controller whose speech engine failed its start-up check answers.
	ErrUnavailable = errors.New("text-to-speech is not available on this controller")
	// ErrEngineFailed: the engine ran and failed (non-zero exit, no audio, audio that makes no
	// sense). The message carries its stderr.
	ErrEngineFailed = errors.New("speech engine failed")
	// ErrBuggyVoice: a voice known to read Mandarin wrongly (see espeak.go).
	ErrBuggyVoice = errors.New("voice reads Mandarin wrongly")

	// Errors in the caller's request.
	ErrEmptyText    = errors.New("text is empty")
	ErrTextTooLong  = errors.New("text is too long")
	ErrUnknownVoice = errors.New("unknown voice")
)

// MaxTextRunes bounds one request: about eight minutes of speech, longer than any notice a
// township reads out, and short enough that one request cannot tie up the engine for long.
const MaxTextRunes = 2000
