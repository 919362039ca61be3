package tts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Espeak runs Debian's espeak-ng. Mandarin must use the voice cmn-latn-pinyin (optionally with
// a variant, cmn-latn-pinyin+f3). The plain cmn voice, and zh and zh-cmn which resolve to it,
// are broken in espeak-ng 1.51 (Debian's): its dictionary turns many hanzi into pinyin with a
// tone digit (公 -> gong1) and cmn reads Latin text as English, so 政务公开 comes out as
// "zheng wu gong-one kai-one" (espeak-ng -v cmn -x '政务公开' shows "(en)g011Nw011n",
// upstream issues #1236, #1370). cmn-latn-pinyin reads that pinyin as pinyin. LoadVoices
// refuses those names, and CheckVoice catches any other way to the same fault.
type Espeak struct {
	// Path is the espeak-ng binary: a name looked up on PATH, or a path.
	Path string
}

// NewEspeak returns the engine running espeak-ng from PATH.
func NewEspeak() *Espeak { return &Espeak{Path: "espeak-ng"} }

func (e *Espeak) Name() string { return "espeak" }

// Synthesize returns espeak-ng's WAV: 22050 Hz mono 16-bit, written as a stream, so its data
// size field is a placeholder (0x7ffff000 in 1.51), not the real length.
func (e *Espeak) Synthesize(ctx context.Context, text string, v Voice) ([]byte, error) {
	out, err := e.run(ctx, text, "--stdout", "-v", v.Voice, "-s", strconv.Itoa(v.Speed),
		"-p", strconv.Itoa(v.Pitch), "-a", strconv.Itoa(v.Volume))
	if err != nil {
		return nil, err
	}
	if len(out) <= 44 { // a bare RIFF header: no samples
		return nil, fmt.Errorf("%w: espeak-ng -v %s wrote no audio (%d bytes)", ErrEngineFailed, v.Voice, len(out))
	}
	return out, nil
}

// checkProbe contains hanzi the cmn dictionary maps to pinyin (公, 开).
const checkProbe = "政务公开"

// CheckVoice asks espeak-ng for the phonemes of a hanzi probe: "(en)" in them means the voice
// switched to English to read the pinyin it made of a hanzi, the fault described above.
func (e *Espeak) CheckVoice(ctx context.Context, v Voice) error {
	out, err := e.run(ctx, checkProbe, "-q", "-x", "-v", v.Voice)
	if err != nil {
		return err
	}
	if ph := strings.TrimSpace(string(out)); strings.Contains(ph, "(en)") || ph == "" {
		return fmt.Errorf("%w: espeak-ng voice %q reads %s as %q (English letters and tone digits, not Mandarin); use cmn-latn-pinyin",
			ErrBuggyVoice, v.Voice, checkProbe, ph)
	}
	return nil
}

// run feeds text on stdin (never as an argument: text starting with "-" would be an option,
// and argv is bounded) as UTF-8 (-b 1) and returns stdout.
func (e *Espeak) run(ctx context.Context, text string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(e.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (Debian package espeak-ng): %v", ErrEngineMissing, e.Path, err)
	}
	cmd := exec.CommandContext(ctx, path, append(args, "-b", "1", "--stdin")...)
	cmd.Stdin = strings.NewReader(text)
	// Once ctx ends and the process is killed, stop waiting for its output pipes too: a child
	// it left behind could otherwise hold them open and Wait with them.
	cmd.WaitDelay = time.Second
	var stdout bytes.Buffer
	var stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("espeak-ng: %w", ctx.Err())
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return nil, fmt.Errorf("%w: start %s: %v", ErrEngineMissing, path, err)
		}
		return nil, fmt.Errorf("%w: espeak-ng %s: %v: %s", ErrEngineFailed, strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps the first 4 KiB written: enough for an error message, and a
// misbehaving engine cannot grow our memory through stderr.
type limitedBuffer struct{ bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
