package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink/alsatest"
)

// oto allows one context per process, so each oto test re-executes this test binary as a
// child (TestOtoHelperProcess) with HOME pointing at an ALSA configuration from alsatest.
const otoHelperEnv = "DALABA_SINK_OTO_HELPER"

// TestOtoHelperProcess is the child. It reports on stdout in lines "KEY value".
func TestOtoHelperProcess(t *testing.T) {
	mode := os.Getenv(otoHelperEnv)
	if mode == "" {
		t.Skip("the child process of the oto tests; runs only when they re-execute the test binary")
	}
	say := func(key string, v any) {
		if s, ok := v.(string); ok {
			fmt.Printf("%s %s\n", key, s)
			return
		}
		b, _ := json.Marshal(v)
		fmt.Printf("%s %s\n", key, b)
	}
	s, err := OpenOto()
	if err != nil {
		say("OPENERR", err.Error())
		say("ISDEVICE", errors.Is(err, ErrDevice))
		if _, err := OpenOto(); err != nil {
			say("REOPENERR", err.Error())
			say("REISDEVICE", errors.Is(err, ErrDevice))
		}
		os.Exit(3)
	}
	if _, err := OpenOto(); err != nil {
		say("SECONDERR", err.Error())
	} else {
		say("SECONDERR", "none: a second OpenOto succeeded")
	}

	time.Sleep(alsatest.PipeFill)
	if mode == "stream" {
		streamChild(s, say)
		return
	}
	var pcm []byte
	var cancelAfter time.Duration
	switch mode {
	case "tone":
		pcm = tone(1000, 0.5, time.Second)
	case "cancel":
		pcm, cancelAfter = tone(440, 0.5, 3*time.Second), 500*time.Millisecond
	default:
		say("BADMODE", mode)
		os.Exit(2)
	}
	ctx := context.Background()
	if cancelAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cancelAfter)
		defer cancel()
	}
	p, err := s.Play(ctx, pcm)
	returned := time.Now()
	say("PLAYED", p)
	say("RETURNED", returned)
	if err != nil {
		say("PLAYERR", err.Error())
	}
	if err := s.Close(); err != nil {
		say("CLOSEERR", err.Error())
	}
	// Closed, the sink can be opened again (the same oto context underneath).
	if s2, err := OpenOto(); err != nil {
		say("REOPENERR", err.Error())
	} else {
		s2.Close()
	}
	// Returning lets the test binary exit 0 (os.Exit(0) inside a test counts as a failure).
}

type otoChild struct {
	lines  map[string]string
	stderr string
	code   int
	done   time.Time // the child and pv have both exited
	growth []sizeAt  // the output file's size over time, while the child ran and pv drained
}

type sizeAt struct {
	t    time.Time
	size int64
}

// runOtoChild runs TestOtoHelperProcess in mode with HOME = home and waits for it and for
// pv to finish; if outFile is not empty, it records how outFile grew meanwhile.
func runOtoChild(t *testing.T, mode, home, outFile string) otoChild {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOtoHelperProcess$", "-test.count=1", "-test.timeout=25s")
	cmd.Env = alsatest.Env(home, otoHelperEnv+"="+mode)
	// pv inherits the child's stderr, so with a pipe there Run returns only once pv has
	// drained the audio the child left in the pipe to it and exited: the file is complete.
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 20 * time.Second // pv holds ~1 s of audio; more means it is stuck

	var growth []sizeAt // written by the watcher, read after it is done
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if outFile == "" {
			return
		}
		last := int64(-1)
		for {
			if fi, err := os.Stat(outFile); err == nil && fi.Size() != last {
				last = fi.Size()
				growth = append(growth, sizeAt{time.Now(), last})
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()

	err := cmd.Run()
	c := otoChild{lines: map[string]string{}, stderr: stderr.String(), done: time.Now()}
	close(stopWatch)
	<-watched
	c.growth = growth
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		c.code = ee.ExitCode()
	case errors.Is(err, exec.ErrWaitDelay):
		t.Fatalf("the oto child exited but pv, which shares its stderr, was still running %v later", cmd.WaitDelay)
	default:
		t.Fatalf("running the oto child: %v\nstderr:\n%s", err, c.stderr)
	}

	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == strings.ToUpper(k) {
			c.lines[k] = v
		}
	}
	t.Logf("child (mode %s) exit %d, said %v", mode, c.code, c.lines)
	return c
}

func (c otoChild) played(t *testing.T) (Played, time.Time) {
	t.Helper()
	var p Played
	var returned time.Time
	if err := json.Unmarshal([]byte(c.lines["PLAYED"]), &p); err != nil {
		t.Fatalf("child printed no Played (%v); exit %d, stderr:\n%s", err, c.code, c.stderr)
	}
	if err := json.Unmarshal([]byte(c.lines["RETURNED"]), &returned); err != nil {
		t.Fatalf("child printed no return time: %v", err)
	}
	return p, returned
}

// reachedFile is when the file first held at least n bytes.
func (c otoChild) reachedFile(n int64) (time.Time, bool) {
	for _, g := range c.growth {
		if g.size >= n {
			return g.t, true
		}
	}
	return time.Time{}, false
}

// logTiming reports how the program sat in the file and when it got there.
func logTiming(t *testing.T, c otoChild, a alsatest.Analysis, p Played, returned time.Time) {
	sec := func(samples int) time.Duration {
		return time.Duration(int64(samples) * int64(time.Second) / wire.SampleRate)
	}
	t.Logf("file: %d samples (%v); silence %v, then loud from sample %d to %d (%v), then silence %v",
		a.Samples, sec(a.Samples), sec(a.FirstLoud), a.FirstLoud, a.LastLoud,
		sec(a.LastLoud-a.FirstLoud+1), sec(a.Samples-a.LastLoud-1))
	t.Logf("Play took %v (Start to End), returned %v after End; child and pv were done %v after Play returned",
		p.End.Sub(p.Start), returned.Sub(p.End), c.done.Sub(returned))
	if at, ok := c.reachedFile(int64(a.FirstLoud+1) * 4); ok {
		t.Logf("first loud sample reached the file %v after Play started", at.Sub(p.Start))
	}
	if at, ok := c.reachedFile(int64(a.LastLoud+1) * 4); ok {
		t.Logf("last loud sample reached the file %v after Play returned", at.Sub(returned))
	}
	if n := len(c.growth); n > 0 {
		t.Logf("file last grew %v before the child and pv were done", c.done.Sub(c.growth[n-1].t))
	}
}

func TestOtoPlaysThroughALSA(t *testing.T) {
	home, out := alsatest.Home(t)
	c := runOtoChild(t, "tone", home, out)
	if c.code != 0 {
		t.Fatalf("child exited %d; said %v; stderr:\n%s", c.code, c.lines, c.stderr)
	}
	p, returned := c.played(t)
	if e := c.lines["PLAYERR"]; e != "" {
		t.Fatalf("Play: %s", e)
	}
	if e := c.lines["SECONDERR"]; !strings.Contains(e, "already open") {
		t.Errorf("second OpenOto in the same process: got %q, want an error saying it is already open", e)
	}
	if e, ok := c.lines["REOPENERR"]; ok {
		t.Errorf("OpenOto after Close: %s", e)
	}

	samples, err := alsatest.ReadFloat32(out)
	if err != nil {
		t.Fatal(err)
	}
	a := alsatest.Analyze(samples, wire.SampleRate, 0.01)
	t.Logf("analysis: %+v", a)
	logTiming(t, c, a, p, returned)

	if math.Abs(float64(a.Loud)-16000) > 0.05*16000 {
		t.Errorf("loud samples in the file = %d, want 16000 ± 5%% (1 s)", a.Loud)
	}
	if math.Abs(a.DominantHz-1000) > 20 {
		t.Errorf("dominant frequency in the file = %v Hz, want 1000 Hz", a.DominantHz)
	}
	if !near(a.Peak, 0.5, 0.05) {
		t.Errorf("peak in the file = %.4f, want 0.5", a.Peak)
	}

	// The child's own account agrees with the file.
	if p.Bytes != 2*wire.SampleRate {
		t.Errorf("Played.Bytes = %d, want %d", p.Bytes, 2*wire.SampleRate)
	}
	if !near(p.Peak, a.Peak, 0.01) {
		t.Errorf("Played.Peak = %.4f but the file's peak is %.4f", p.Peak, a.Peak)
	}
	if !near(p.RMS, 0.5/math.Sqrt2, 0.01) {
		t.Errorf("Played.RMS = %.4f, want %.4f", p.RMS, 0.5/math.Sqrt2)
	}
	if math.Abs(float64(p.Bytes/2)-float64(a.Loud)) > 0.05*float64(p.Bytes/2) {
		t.Errorf("Played.Bytes says %d samples but %d loud ones reached the file", p.Bytes/2, a.Loud)
	}
	// The device is paced by pv, so playing a 1 s program takes about 1 s.
	if d := p.End.Sub(p.Start); d < 800*time.Millisecond || d > 3*time.Second {
		t.Errorf("Play of a 1 s program took %v (Start to End), want about 1 s", d)
	}
}

func TestOtoCancelStopsTheSound(t *testing.T) {
	home, out := alsatest.Home(t)
	c := runOtoChild(t, "cancel", home, out)
	if c.code != 0 {
		t.Fatalf("child exited %d; said %v; stderr:\n%s", c.code, c.lines, c.stderr)
	}
	p, returned := c.played(t)
	if e := c.lines["PLAYERR"]; !strings.Contains(e, context.DeadlineExceeded.Error()) {
		t.Errorf("Play cancelled after 0.5 s returned %q, want the context's error", e)
	}
	if d := returned.Sub(p.Start); d < 450*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("Play returned %v after starting, want promptly after the 0.5 s deadline", d)
	}
	samples, err := alsatest.ReadFloat32(out)
	if err != nil {
		t.Fatal(err)
	}
	a := alsatest.Analyze(samples, wire.SampleRate, 0.01)
	t.Logf("analysis: %+v", a)
	logTiming(t, c, a, p, returned)
	if p.Bytes <= 0 || p.Bytes >= 6*wire.SampleRate {
		t.Errorf("Played.Bytes = %d, want part of the 3 s program", p.Bytes)
	}
	// What reached the file is what Played says went to the device, to within the mixer's
	// and the device's buffers (here, 0.1 s player buffer + 2 ALSA periods).
	if d := math.Abs(float64(p.Bytes/2) - float64(a.Loud)); d > 0.25*wire.SampleRate {
		t.Errorf("Played.Bytes says %d samples but %d loud ones reached the file", p.Bytes/2, a.Loud)
	}
	if math.Abs(a.DominantHz-440) > 20 {
		t.Errorf("dominant frequency in the file = %v Hz, want 440 Hz", a.DominantHz)
	}
}

func TestOtoDeviceFailure(t *testing.T) {
	home := alsatest.BrokenHome(t)
	c := runOtoChild(t, "tone", home, "")
	if c.code != 3 {
		t.Fatalf("child exited %d, want 3 (OpenOto failed); said %v; stderr:\n%s", c.code, c.lines, c.stderr)
	}
	e := c.lines["OPENERR"]
	if !strings.Contains(e, "audio output could not be opened") || !strings.Contains(e, "ALSA") {
		t.Errorf("OpenOto error = %q, want it to say the audio output could not be opened, with oto's ALSA message", e)
	}
	if c.lines["ISDEVICE"] != "true" {
		t.Errorf("OpenOto error does not wrap ErrDevice: %q", e)
	}
	if e := c.lines["REOPENERR"]; !strings.Contains(e, "cannot retry") || c.lines["REISDEVICE"] != "true" {
		t.Errorf("second OpenOto after a failure = %q (wraps ErrDevice: %s), want an explanation that wraps ErrDevice", e, c.lines["REISDEVICE"])
	}
}
