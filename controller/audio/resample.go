package audio

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"dalaba/proto/wire"
)

// ErrSoxMissing means the controller host lacks the sox binary; it is an installation
// problem, not a bad upload, so it does not wrap ErrBadAudio.
var ErrSoxMissing = errors.New("resampling needs the sox binary (Debian package sox) on PATH")

// resample converts mono s16le at fromRate to mono s16le at wire.SampleRate with sox.
// sox's "rate -h" is a proper band-limited resampler; writing one here would be worse.
func resample(pcm []byte, fromRate int) ([]byte, error) {
	path, err := exec.LookPath("sox")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSoxMissing, err)
	}
	raw := func(rate int) []string {
		return []string{"-t", "raw", "-r", strconv.Itoa(rate), "-e", "signed-integer",
			"-b", "16", "-c", "1", "--endian", "little", "-"}
	}
	// -D: no dither, -R: fixed seed. Both keep the output a pure function of the input, so the
	// same upload always hashes to the same program id. -V1: only failures on stderr.
	args := []string{"-V1", "-D", "-R"}
	args = append(args, raw(fromRate)...)
	args = append(args, raw(wire.SampleRate)...)
	args = append(args, "rate", "-h", strconv.Itoa(wire.SampleRate))

	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(pcm)
	// Output length is known up to a few samples; sizing the buffer avoids regrowth.
	out := bytes.NewBuffer(make([]byte, 0, len(pcm)*wire.SampleRate/fromRate+4096))
	cmd.Stdout = out
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("sox resample %d Hz to %d Hz: %w: %s",
			fromRate, wire.SampleRate, err, strings.TrimSpace(stderr.String()))
	}
	b := out.Bytes()
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("sox resample: odd output length %d", len(b))
	}
	return b, nil
}

// limitedBuffer keeps the first 4 KiB written to it: enough for sox's error message, and a
// misbehaving sox cannot grow our memory through stderr.
type limitedBuffer struct{ bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
