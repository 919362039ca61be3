// Package alsatest lets tests play through real ALSA without a sound card: Home makes a HOME
// whose ~/.asoundrc routes ALSA's "default" device into a file, paced in real time by pv, and
// ReadFloat32 and Analyze check what arrived.
//
// oto (the only ALSA user here) writes float32 little-endian samples at the system rate and
// channel count, and writes silence continuously while nothing plays, so the file holds
// silence, then the program, then silence.
//
// ALSA reads ~/.asoundrc when a process first opens a device, so the device must be opened by
// a process whose HOME is the one Home made: in practice a child process (oto allows one
// context per process anyway). Run it with Env(home).
package alsatest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dalaba/proto/wire"
)

// FileBytesPerSecond is the rate at which pv lets samples into the file: float32 samples at the
// system rate and channel count.
const FileBytesPerSecond = wire.SampleRate * wire.Channels * 4

// PipeFill is how long to let oto run after opening the fake device before playing, so that
// the pipe to pv is full and the device is paced. (Unpaced, oto's mixer runs ahead of its
// players and puts silence into the program.)
const PipeFill = 300 * time.Millisecond

// PipeLatency is roughly how long samples take from ALSA to the file: the pipe to pv holds
// 64 KiB, at FileBytesPerSecond.
const PipeLatency = time.Duration(64 << 10 * int64(time.Second) / FileBytesPerSecond)

// Home makes a temporary directory to use as HOME, with an .asoundrc that sends everything
// played on ALSA "default" to outFile (inside home), through `pv -L` so that the device is
// paced like a real one (ALSA's file plugin on the null device is not paced at all).
// It fails the test if pv is not installed.
//
// The fake device is paced but has a long latency: the pipe from ALSA to pv holds 64 KiB,
// about 1 s of audio (pv's own buffer is cut to 4 KiB with -B; by default it reads ahead
// about 2 s more). So samples reach outFile about 1 s after oto hands them to ALSA, and for
// the first few milliseconds after the device is opened, while the pipe fills, it is not paced
// at all: a player should wait PipeFill after opening the device before playing.
//
// To know when pv has finished writing outFile, give the process that plays a pipe for its
// stderr (exec.Cmd.Stderr set to a bytes.Buffer does that): pv inherits it, so the pipe
// reaches EOF, and Cmd.Wait returns, only once pv has drained its input and exited.
// Otherwise use WaitStable.
func Home(t testing.TB) (home, outFile string) {
	t.Helper()
	pv, err := exec.LookPath("pv")
	if err != nil {
		t.Fatalf("alsatest: pv is not on PATH (%v); install it (apt-get install pv): "+
			"it paces the fake ALSA device in real time, and CI installs it", err)
	}
	home = t.TempDir()
	outFile = filepath.Join(home, "out.raw")
	if strings.ContainsAny(home, "'\"\\\n") {
		t.Fatalf("alsatest: temporary directory %q contains a quote, backslash or newline; cannot write it into .asoundrc", home)
	}
	conf := fmt.Sprintf(`# Written by dalaba/terminal-agent/sink/alsatest: ALSA "default" goes to a file, paced by pv.
pcm.!default {
	type file
	slave.pcm "null"
	file "| exec '%s' -q -B 4096 -L %d > '%s'"
	format "raw"
}
`, pv, FileBytesPerSecond, outFile)
	if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(conf), 0o644); err != nil {
		t.Fatalf("alsatest: %v", err)
	}
	return home, outFile
}

// BrokenHome makes a temporary HOME whose .asoundrc makes ALSA "default" unusable (a hw
// device on a card that does not exist), to test how the device failing to open is handled.
func BrokenHome(t testing.TB) string {
	t.Helper()
	home := t.TempDir()
	conf := "# Written by dalaba/terminal-agent/sink/alsatest: ALSA \"default\" is a card that does not exist.\n" +
		"pcm.!default {\n\ttype hw\n\tcard 99\n}\n"
	if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(conf), 0o644); err != nil {
		t.Fatalf("alsatest: %v", err)
	}
	return home
}

// Env returns the current environment with HOME set to home (and XDG_CONFIG_HOME inside it,
// since ALSA also reads $XDG_CONFIG_HOME/alsa/asoundrc), plus extra "KEY=value" entries,
// for a child process that should use the ALSA configuration in home.
func Env(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_CONFIG_HOME", "ALSA_CONFIG_PATH":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	return append(env, extra...)
}

// WaitStable waits until path exists and its size has not changed for quiet (pv has flushed
// and exited once the playing process is gone), or until timeout.
func WaitStable(path string, quiet, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last, since := int64(-1), time.Now()
	for {
		fi, err := os.Stat(path)
		switch {
		case err == nil && fi.Size() != last:
			last, since = fi.Size(), time.Now()
		case err == nil && time.Since(since) >= quiet:
			return nil
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return err
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("alsatest: %s did not appear within %v: %w", path, timeout, err)
			}
			return fmt.Errorf("alsatest: %s still growing after %v (%d bytes)", path, timeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ReadFloat32 reads the raw file written through Home's .asoundrc: float32 little-endian
// samples. A trailing partial sample (a write in progress) is ignored.
func ReadFloat32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Analysis describes a stream of samples.
type Analysis struct {
	Samples int     // all samples
	Loud    int     // samples with |x| > threshold
	Peak    float64 // largest |x|
	// DominantHz is the frequency, to the nearest 10 Hz in 100..4000 Hz, with the most energy
	// between the first and last loud sample; 0 if nothing is loud.
	DominantHz float64
	// FirstLoud and LastLoud are the indices of the first and last loud samples, -1 if none.
	FirstLoud, LastLoud int
}

// Analyze measures samples (mono, at sampleRate) against threshold (0..1 of full scale).
func Analyze(samples []float32, sampleRate int, threshold float64) Analysis {
	a := Analysis{Samples: len(samples), FirstLoud: -1, LastLoud: -1}
	for i, s := range samples {
		v := math.Abs(float64(s))
		if v > a.Peak {
			a.Peak = v
		}
		if v > threshold {
			a.Loud++
			if a.FirstLoud < 0 {
				a.FirstLoud = i
			}
			a.LastLoud = i
		}
	}
	if a.Loud > 0 {
		a.DominantHz = dominantHz(samples[a.FirstLoud:a.LastLoud+1], sampleRate)
	}
	return a
}

// dominantHz sums Goertzel power over Hann-windowed blocks of 0.1 s (so the 10 Hz candidate
// grid matches the blocks' resolution) and returns the candidate with the most.
func dominantHz(x []float32, sampleRate int) float64 {
	const lo, hi, step = 100, 4000, 10
	top := min(hi, sampleRate/2-step)
	if top < lo || len(x) == 0 {
		return 0
	}
	block := max(1, sampleRate/10)
	if len(x) < block {
		block = len(x)
	}
	window := make([]float64, block)
	for i := range window {
		window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(block))
	}
	if block == 1 {
		window[0] = 1
	}
	nf := (top-lo)/step + 1
	power := make([]float64, nf)
	coeff := make([]float64, nf)
	for k := range coeff {
		coeff[k] = 2 * math.Cos(2*math.Pi*float64(lo+k*step)/float64(sampleRate))
	}
	for off := 0; off+block <= len(x); off += block {
		seg := x[off : off+block]
		for k, c := range coeff {
			var s1, s2 float64
			for i, v := range seg {
				s0 := float64(v)*window[i] + c*s1 - s2
				s2, s1 = s1, s0
			}
			power[k] += s1*s1 + s2*s2 - c*s1*s2
		}
	}
	best := 0
	for k := range power {
		if power[k] > power[best] {
			best = k
		}
	}
	return float64(lo + best*step)
}
