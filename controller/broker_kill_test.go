package controller_test

import (
	"net/http"
	"testing"
	"time"

	"dalaba/controller/receipts"
	"dalaba/terminal-agent/sink/alsatest"
)

// Mosquitto killed -9 mid-play (no graceful save: its sessions and queued messages are gone),
// a broadcast posted while it is down, then Mosquitto back: the controller and the terminals
// reconnect, the one playing finishes and is recorded done, the one posted meanwhile reaches
// every terminal once.
func TestMosquittoKilledMidBroadcast(t *testing.T) {
	m := newMosquitto(t)
	c := startController(t, m.url())
	a := startAgent(t, c, m.url(), "t001", "361126104201001")
	b := startAgent(t, c, m.url(), "t003", "361126104201002")
	waitOnline(t, c, a, b)
	const playing, meanwhile = 800.0, 1200.0
	first := send(t, c, "terminal:t001,terminal:t003", "120", toneWAV(t, playing, 2*time.Second))
	awaitReceipt(t, c, first, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	m.cmd.Process.Kill()
	m.cmd.Wait()

	type answer struct {
		code int
		id   string
		err  error
	}
	posted := make(chan answer, 1)
	go func() {
		code, id, err := tryBroadcast(t, c.HTTPAddr, adminToken(t, c.HTTPAddr),
			map[string]string{"title": "断网期间", "targets": "terminal:t001,terminal:t003", "valid_for": "120"},
			toneWAV(t, meanwhile, 500*time.Millisecond))
		posted <- answer{code, id, err}
	}()
	time.Sleep(2 * time.Second)
	m.start()
	p := <-posted
	if p.err != nil || p.code != http.StatusCreated {
		t.Fatalf("broadcast posted while the broker was down: %d %v", p.code, p.err)
	}
	for _, id := range []string{first, p.id} {
		for _, term := range []string{"t001", "t003"} {
			r := awaitReceipt(t, c, id, term, func(r receipts.Receipt) bool { return r.State.Final() && r.State != receipts.Offline })
			if r.State != receipts.Done || r.Played == nil {
				t.Errorf("%s in %s: %s %s %q, want done", term, id, r.State, r.Reason, r.Detail)
			}
		}
	}
	heard(t, a, b)
	for _, ag := range []*agentProc{a, b} {
		samples, err := alsatest.ReadFloat32(ag.out)
		if err != nil {
			t.Fatal(err)
		}
		w := toneWindows(samples, []float64{playing, meanwhile})
		if w[playing] < 18 || w[playing] > 22 || w[meanwhile] < 4 || w[meanwhile] > 6 {
			t.Errorf("%s sounded %v Hz for %d and %v Hz for %d windows of 0.1 s; want 20 and 5 (each once)",
				ag.id, playing, w[playing], meanwhile, w[meanwhile])
		}
	}
}
