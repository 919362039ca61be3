package alsatest

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sine(hz, amp float64, n, rate int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)+0.3))
	}
	return out
}

func TestAnalyzeTellsTonesApart(t *testing.T) {
	const rate = 16000
	rng := rand.New(rand.NewPCG(1, 2))
	for _, hz := range []float64{440, 1000, 1234, 3000, 150} {
		// Silence, the tone with a little noise, silence.
		x := make([]float32, rate/2)
		for _, v := range sine(hz, 0.5, rate, rate) {
			x = append(x, v+float32(0.02*rng.NormFloat64()))
		}
		x = append(x, make([]float32, rate/4)...)
		a := Analyze(x, rate, 0.1)
		if math.Abs(a.DominantHz-hz) > 10 {
			t.Errorf("%v Hz: DominantHz = %v", hz, a.DominantHz)
		}
		if a.Samples != len(x) || a.FirstLoud < rate/2 || a.LastLoud >= rate/2+rate {
			t.Errorf("%v Hz: %+v: loud span outside the tone", hz, a)
		}
		if math.Abs(a.Peak-0.5) > 0.1 {
			t.Errorf("%v Hz: Peak = %v", hz, a.Peak)
		}
	}
	if a := Analyze(make([]float32, 1000), rate, 0.01); a.Loud != 0 || a.DominantHz != 0 || a.FirstLoud != -1 || a.LastLoud != -1 {
		t.Errorf("silence: %+v", a)
	}
	// Shorter than a block still works.
	if a := Analyze(sine(1000, 0.5, 800, rate), rate, 0.01); math.Abs(a.DominantHz-1000) > 10 {
		t.Errorf("50 ms of 1000 Hz: DominantHz = %v", a.DominantHz)
	}
}

func TestReadFloat32(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.raw")
	var b []byte
	for _, v := range []float32{0, 0.5, -1} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	b = append(b, 0x12, 0x34) // a write in progress
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFloat32(p)
	if err != nil || len(got) != 3 || got[1] != 0.5 || got[2] != -1 {
		t.Errorf("ReadFloat32 = %v, %v", got, err)
	}
}

func TestHome(t *testing.T) {
	home, out := Home(t)
	conf, err := os.ReadFile(filepath.Join(home, ".asoundrc"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(out) != home || !strings.Contains(string(conf), out) || !strings.Contains(string(conf), "-L 64000") {
		t.Errorf("out %s, .asoundrc:\n%s", out, conf)
	}
	env := Env(home, "X=1")
	var homes int
	for _, kv := range env {
		if strings.HasPrefix(kv, "HOME=") {
			homes++
			if kv != "HOME="+home {
				t.Errorf("Env has %s", kv)
			}
		}
	}
	if homes != 1 || env[len(env)-1] != "X=1" {
		t.Errorf("Env = %v", env)
	}
}
