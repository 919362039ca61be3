// Package speechtest gives tests real speech (espeak-ng, resampled by sox to the system format)
// and a way to tell whether speech came through: the correlation of what arrived with what was
// said, after finding how far one lags the other.
package speechtest

import (
	"bytes"
	"encoding/binary"
	"math"
	"os/exec"
	"strings"
	"testing"

	"dalaba/proto/wire"
)

// Text is a few sentences of ordinary announcement English (espeak-ng's most tested voice):
// voiced and unvoiced sounds, pauses between sentences.
const Text = "Attention please. The river is rising near the old bridge. " +
	"Everyone in the lower village should move to the school on the hill before six o'clock. " +
	"Bring water, medicine and warm clothes. Help your neighbours, especially the old and the sick."

// Speak synthesises text with espeak-ng and returns it as system-format PCM (16-bit little
// endian, wire.SampleRate Hz, mono). It fails the test if espeak-ng or sox is missing.
func Speak(tb testing.TB, text string) []byte {
	tb.Helper()
	return speak(tb, text, 160)
}

// speak says text at rate words a minute.
func speak(tb testing.TB, text string, rate int) []byte {
	tb.Helper()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("speechtest: %s is not installed (apt-get install %s; .ci/deps does): %v", tool, tool, err)
		}
	}
	var wav, stderr bytes.Buffer
	say := exec.Command("espeak-ng", "--stdout", "-s", itoa(rate), "-v", "en")
	say.Stdin, say.Stdout, say.Stderr = strings.NewReader(text), &wav, &stderr
	if err := say.Run(); err != nil {
		tb.Fatalf("speechtest: espeak-ng: %v: %s", err, stderr.String())
	}
	var pcm bytes.Buffer
	stderr.Reset()
	conv := exec.Command("sox", "-t", "wav", "-", "-t", "raw", "-e", "signed-integer", "-b", "16", "-L",
		"-r", itoa(wire.SampleRate), "-c", itoa(wire.Channels), "-")
	conv.Stdin, conv.Stdout, conv.Stderr = &wav, &pcm, &stderr
	if err := conv.Run(); err != nil {
		tb.Fatalf("speechtest: sox: %v: %s", err, stderr.String())
	}
	if pcm.Len() < wire.BytesPerSecond {
		tb.Fatalf("speechtest: espeak-ng said only %d bytes for %q", pcm.Len(), text)
	}
	return pcm.Bytes()
}

// SpeakFor says Text again and again, each time a little faster, until the speech lasts
// seconds: no stretch of it repeats another exactly, so any piece can be told apart.
func SpeakFor(tb testing.TB, seconds int) []byte {
	tb.Helper()
	var out []byte
	for rate := 150; len(out) < seconds*wire.BytesPerSecond; rate += 10 {
		out = append(out, speak(tb, Text, rate)...)
	}
	return out[:seconds*wire.BytesPerSecond]
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// Samples reads system-format PCM as floats (full scale 1).
func Samples(pcm []byte) []float64 {
	out := make([]float64, len(pcm)/2)
	for i := range out {
		out[i] = float64(int16(binary.LittleEndian.Uint16(pcm[2*i:]))) / 32768
	}
	return out
}

// Match is where said speech was found in what arrived.
type Match struct {
	Lag         int     // got[i+Lag] corresponds to said[i]
	Correlation float64 // normalised, over the part of said that got covers: 1 is identical up to gain
	Covered     float64 // the fraction of said that got covers at Lag
}

// Find locates said within got, which may start earlier or later, have a different gain, and
// carry silence around it: the envelopes (10 ms energy) are matched over every lag first, then
// the samples within a block of that.
func Find(said, got []float64) Match {
	return findIn(said, got, -len(said)+1, len(got))
}

// FindEach locates said piece by piece (pieces of piece samples) in got, each within drift
// samples of where the one before it ended: speech that a live stream delivered with pauses
// inserted (it plays later after a stall) or shortened (it makes the time up) still matches
// piece by piece. A piece with such a change in it matches less well.
func FindEach(said, got []float64, piece, drift int) []Match {
	var out []Match
	lo, hi := -len(said)+1, len(got)
	for k := 0; k+piece <= len(said); k += piece {
		m := findIn(said[k:k+piece], got, lo, hi)
		m.Lag -= k
		out = append(out, m)
		lo, hi = m.Lag+k+piece-drift, m.Lag+k+piece+drift
	}
	return out
}

// findIn is Find with the piece's lag in got between lo and hi.
func findIn(said, got []float64, lo, hi int) Match {
	const block = wire.SampleRate / 100
	es, eg := envelope(said, block), envelope(got, block)
	bestLag, best := 0, math.Inf(-1)
	for lag := max(lo/block, -len(es)+1); lag <= min(hi/block+1, len(eg)-1); lag++ {
		if c, n := correlate(es, eg, lag); n >= len(es)/2 && c > best {
			best, bestLag = c, lag
		}
	}
	m := Match{Correlation: math.Inf(-1)}
	for lag := bestLag*block - 2*block; lag <= bestLag*block+2*block; lag++ {
		if c, n := correlate(said, got, lag); n > 0 && c > m.Correlation {
			m = Match{Lag: lag, Correlation: c, Covered: float64(n) / float64(len(said))}
		}
	}
	return m
}

func envelope(x []float64, block int) []float64 {
	out := make([]float64, len(x)/block)
	for i := range out {
		var s float64
		for _, v := range x[i*block : (i+1)*block] {
			s += v * v
		}
		out[i] = math.Sqrt(s / float64(block))
	}
	return out
}

// correlate is the normalised correlation of a[i] with b[i+lag] over the indices both have,
// and how many those are.
func correlate(a, b []float64, lag int) (float64, int) {
	lo, hi := max(0, -lag), min(len(a), len(b)-lag)
	if hi <= lo {
		return 0, 0
	}
	var ab, aa, bb, sa, sb float64
	n := float64(hi - lo)
	for i := lo; i < hi; i++ {
		x, y := a[i], b[i+lag]
		ab += x * y
		aa += x * x
		bb += y * y
		sa += x
		sb += y
	}
	cov := ab - sa*sb/n
	va, vb := aa-sa*sa/n, bb-sb*sb/n
	if va <= 0 || vb <= 0 {
		return 0, hi - lo
	}
	return cov / math.Sqrt(va*vb), hi - lo
}
