package controller_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dalaba/controller/receipts"
	"dalaba/terminal-agent/sink/alsatest"
)

// A terminal loses power mid-play and comes back with its state directory: the broadcast it
// had finished before does not play again, the one it was cut off in plays again whole (its
// window is open), and the one sent while it was dark plays once.
func TestAgentPowerLossReplaysNothingFinished(t *testing.T) {
	c := startController(t, "")
	state := filepath.Join(t.TempDir(), "state")
	a := startAgent(t, c, "", "t001", "361126104201001", "--state-dir", state)
	waitOnline(t, c, a)
	const finished, cut, dark = 700.0, 900.0, 1100.0
	first := send(t, c, "terminal:t001", "120", toneWAV(t, finished, 400*time.Millisecond))
	awaitReceipt(t, c, first, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })
	second := send(t, c, "terminal:t001", "120", toneWAV(t, cut, 2*time.Second))
	awaitReceipt(t, c, second, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	a.kill()
	awaitReceipt(t, c, second, "t001", func(r receipts.Receipt) bool { return r.Reason == receipts.Disconnected })
	third := send(t, c, "terminal:t001", "120", toneWAV(t, dark, 400*time.Millisecond))
	if r := awaitReceipt(t, c, third, "t001", func(receipts.Receipt) bool { return true }); r.State != receipts.Offline {
		t.Fatalf("sent while the terminal was dark: %s, want offline", r.State)
	}

	back := startAgent(t, c, "", "t001", "361126104201001", "--state-dir", state)
	for _, id := range []string{second, third} {
		r := awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })
		if r.Played == nil || r.Played.Duration < 380 {
			t.Errorf("broadcast %s after the restart: %+v, want done with the whole program", id, r)
		}
	}
	if r := awaitReceipt(t, c, first, "t001", func(receipts.Receipt) bool { return true }); r.State != receipts.Done {
		t.Errorf("the broadcast finished before the power cut is now %s", r.State)
	}
	heard(t, back)
	samples, err := alsatest.ReadFloat32(back.out)
	if err != nil {
		t.Fatal(err)
	}
	w := toneWindows(samples, []float64{finished, cut, dark})
	// In 0.1 s windows: 2 s is 20 (19-21 at the edges), 0.4 s is 4 (3-5).
	if w[finished] != 0 || w[cut] < 18 || w[cut] > 22 || w[dark] < 3 || w[dark] > 5 {
		t.Fatalf("the restarted terminal sounded %v Hz for %d, %v Hz for %d, %v Hz for %d windows of 0.1 s; want 0, 20, 4",
			finished, w[finished], cut, w[cut], dark, w[dark])
	}
	reported := finishedOnAgent(back.log.String())
	if len(reported[first]) != 0 || len(reported[second]) != 1 || len(reported[third]) != 1 {
		t.Fatalf("the restarted agent finished %v", reported)
	}
	if strings.Contains(back.log.String(), "broadcast="+first+" state=") {
		t.Fatalf("the restarted agent acted on the finished broadcast:\n%s", back.log)
	}
}
