package controller_test

// Cancel: an emergency repeating on real agents stops everywhere at once, and every receipt
// says cancelled with the proof of what was played.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"dalaba/controller/receipts"
	"dalaba/terminal-agent/sink/alsatest"
)

func TestCancelStopsARepeatingEmergencyEverywhere(t *testing.T) {
	c, _ := startReview(t, nil)
	agents := []*agentProc{startAgent(t, c, "", "t001", group201001), startAgent(t, c, "", "t002", group201001),
		startAgent(t, c, "", "t003", "361126104201002")}
	waitOnline(t, c, agents...)
	team := staffTeam(t, c)
	const programLen, repeat = 3 * time.Second, 5
	code, body := staffForm(t, c, team["wang"], "/api/v1/emergencies", map[string]string{"title": "山洪预警", "severity": "1",
		"targets": "village:" + village201, "repeat": fmt.Sprint(repeat), "interval_s": "1"}, toneWAV(t, 1000, programLen))
	if code != 201 {
		t.Fatalf("emergency: %d %v", code, body)
	}
	id := body["id"].(string)
	for _, a := range agents {
		awaitReceipt(t, c, id, a.id, func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	}
	// Let it sound for a while, into the second play.
	time.Sleep(programLen + 1500*time.Millisecond)

	size := func(a *agentProc) int64 {
		fi, err := os.Stat(a.out)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	atCancel := map[string]int64{}
	for _, a := range agents {
		atCancel[a.id] = size(a)
	}
	cancelledAt := time.Now()
	var out struct{ State, Reason string }
	staffMust(t, 200, c, team["zhao"], "POST", "/api/v1/broadcasts/"+id+"/cancel", map[string]string{"reason": "险情解除"}, &out)
	if out.State != "cancelled" {
		t.Fatalf("cancel answered %+v", out)
	}

	// Every terminal answers cancelled at once, with the proof of what it played: part of
	// the five plays, not all.
	full := int64(programLen.Seconds()*32000) * repeat
	for _, a := range agents {
		r := awaitReceipt(t, c, id, a.id, func(r receipts.Receipt) bool { return r.State == receipts.Cancelled && r.Played != nil })
		if d := time.Since(cancelledAt); d > 1500*time.Millisecond {
			t.Errorf("%s: cancelled receipt %v after the cancel, want at once", a.id, d)
		}
		if r.Played.Bytes < int64(programLen.Seconds()*32000) || r.Played.Bytes >= full || !strings.Contains(r.Detail, "险情解除") {
			t.Errorf("%s: receipt %+v (proof %+v), want cancelled with proof of more than one play and less than all, and the reason", a.id, r, r.Played)
		}
	}
	// The report waits for the terminals' final word, then says cancelled.
	var rep struct {
		State  string
		Counts map[string]int
	}
	start := time.Now()
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/broadcasts/"+id+"?wait=finished&timeout=20s", nil, &rep)
	if rep.State != "cancelled" || rep.Counts["cancelled"] != 12 || time.Since(start) > 5*time.Second {
		t.Fatalf("report %+v after %v, want cancelled for all 12 terminals of the village, at once", rep, time.Since(start))
	}

	// The horns went quiet: nothing loud reached any device after the cancel, give or take the
	// pipe between ALSA and the file (alsatest.PipeLatency) and the device buffer. Four more
	// seconds of output would hold the next play, had it come.
	const bound = 400 * time.Millisecond
	eventually(t, 15*time.Second, func() error {
		for _, a := range agents {
			if size(a) < atCancel[a.id]+4*alsatest.FileBytesPerSecond {
				return fmt.Errorf("%s: audio file not 4 s past the cancel", a.id)
			}
		}
		return nil
	})
	for _, a := range agents {
		samples, err := alsatest.ReadFloat32(a.out)
		if err != nil {
			t.Fatal(err)
		}
		h := alsatest.Analyze(samples, 16000, 0.05)
		cut := int(atCancel[a.id]/4) + int((alsatest.PipeLatency+bound).Seconds()*16000)
		if h.LastLoud > cut {
			t.Errorf("%s: sound until sample %d, %.2f s after the cancel point allows (sample %d)", a.id, h.LastLoud,
				float64(h.LastLoud-cut)/16000, cut)
		}
		t.Logf("%s: last sound %.2f s after the file position at the cancel (the pipe holds up to %.2f s)", a.id,
			float64(h.LastLoud-int(atCancel[a.id]/4))/16000, alsatest.PipeLatency.Seconds())
		loud := float64(h.Loud) / 16000
		if loud < programLen.Seconds() || loud > float64(full)/32000-programLen.Seconds() {
			t.Errorf("%s: %.1f s of tone heard, want more than one play and well short of all five", a.id, loud)
		}
	}
	// The cancel is audited with who and why.
	admin := staffLogin(t, c, "admin", adminPassword)
	var cancels int
	for _, e := range auditOf(t, c, admin, "broadcast:"+id) {
		if e.Action == "cancel" && e.Actor == "zhao" && e.After["reason"] == "险情解除" {
			cancels++
		}
	}
	if cancels != 1 {
		t.Errorf("%d audited cancels by zhao, want 1", cancels)
	}
}
