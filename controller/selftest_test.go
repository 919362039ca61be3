package controller_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"dalaba/controller/receipts"
	"dalaba/terminal-agent/sink/alsatest"
)

// A self-test asked for during a broadcast waits for it: the sound card gets the broadcast,
// then the quiet 1 kHz tone, never both at once. The level the terminal reports is the level
// that reached the card. Meanwhile the heartbeat says playing.
func TestSelfTestToneReachesTheSoundCardAfterTheBroadcast(t *testing.T) {
	c := startController(t, "")
	a := startAgent(t, c, "", "t001", "361126104201001", "--heartbeat", "300ms")
	waitOnline(t, c, a)

	id := send(t, c, "terminal:t001", "", toneWAV(t, 440, 1500*time.Millisecond))
	awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	type answer struct {
		code int
		body map[string]any
	}
	replied := make(chan answer, 1)
	go func() {
		code, body := postJSON(t, "http://"+c.HTTPAddr+"/api/v1/terminals/t001/self-test", "")
		replied <- answer{code, body}
	}()
	eventually(t, 5*time.Second, func() error {
		if h := terminalFromAPI(t, c, "t001"); h.WorkState != "playing" {
			return fmt.Errorf("work state %q during a broadcast", h.WorkState)
		}
		return nil
	})
	var r answer
	select {
	case r = <-replied:
	case <-time.After(30 * time.Second):
		t.Fatal("no self-test reply")
	}
	st, _ := r.body["self_test"].(map[string]any)
	if r.code != 200 || r.body["ok"] != true || st == nil {
		t.Fatalf("self-test: %d %v", r.code, r.body)
	}
	rc := awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State.Final() })
	if rc.State != receipts.Done {
		t.Fatalf("the broadcast beside a self-test: %+v", rc)
	}
	reported := st["peak"].(float64)
	if math.Abs(reported-0.05) > 0.002 || math.Abs(st["rms"].(float64)-0.05/math.Sqrt2) > 0.002 ||
		st["duration_ms"] != 500.0 || st["volume"] != 100.0 {
		t.Fatalf("self-test report %v, want 500 ms at peak 0.05, rms 0.035, volume 100", st)
	}

	heard(t, a) // stops the agent once everything played is in the file
	samples, err := alsatest.ReadFloat32(a.out)
	if err != nil {
		t.Fatal(err)
	}
	program := alsatest.Analyze(samples, 16000, 0.3)
	if program.Loud == 0 || program.DominantHz != 440 || program.Peak > 0.51 {
		t.Fatalf("broadcast on the card: %+v; want 440 Hz at 0.5, nothing added", program)
	}
	// The program's first and last samples above 0.3 are within a cycle of 440 Hz of its ends.
	tail := program.LastLoud + 16000/440
	after := alsatest.Analyze(samples[tail:], 16000, 0.02)
	if span := after.LastLoud - after.FirstLoud + 1; after.Loud == 0 || span < 7800 || span > 8200 ||
		after.DominantHz != 1000 || math.Abs(after.Peak-reported) > 0.002 {
		t.Fatalf("after the broadcast the card got %+v (span %d); want 0.5 s of 1 kHz at the reported peak %.4f",
			after, span, reported)
	}
	if before := alsatest.Analyze(samples[:max(0, program.FirstLoud-16000/440)], 16000, 0.02); before.Loud != 0 {
		t.Fatalf("sound before the broadcast: %+v", before)
	}
}
