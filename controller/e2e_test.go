package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/receipts"
)

// The agents the end-to-end tests run: three in village 201 (which has 12 terminals, so nine
// are offline), two in village 202 and one in 203.
var fleet = []struct{ id, group string }{
	{"t001", "361126104201001"}, {"t003", "361126104201002"}, {"t005", "361126104201003"},
	{"t013", "361126104202001"}, {"t016", "361126104202002"},
	{"t025", "361126104203001"},
}

func startFleet(t *testing.T, c *controller.Controller, brokerURL string) map[string]*agentProc {
	agents := map[string]*agentProc{}
	var all []*agentProc
	for _, f := range fleet {
		a := startAgent(t, c, brokerURL, f.id, f.group)
		agents[f.id] = a
		all = append(all, a)
	}
	waitOnline(t, c, all...)
	return agents
}

// checkVillageBroadcast sends a 1 kHz tone to village 201 with ebctl and checks that exactly
// that village's running terminals played it, sample for sample, and that receipts agree.
func checkVillageBroadcast(t *testing.T, c *controller.Controller, agents map[string]*agentProc) {
	wav := writeFile(t, "tone.wav", toneWAV(t, 1000, time.Second))
	out, code := ebctl(t, c, "broadcast", "--to", "village:"+village201, "--audio", wav, "--title", "测试音", "--wait", "--timeout", "60s")
	if code != 0 {
		t.Fatalf("ebctl exit %d:\n%s", code, out)
	}
	for _, want := range []string{"完成 3，失败 0，离线 9", "曹溪村（361126104201）：3/12 已播放", "发送时终端离线"} {
		if !strings.Contains(out, want) {
			t.Errorf("ebctl output lacks %q:\n%s", want, out)
		}
	}
	id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "广播已发送："))
	sum, err := c.Book.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.State != receipts.StateFinished || len(sum.Receipts) != 12 {
		t.Fatalf("broadcast %s: state %s with %d receipts, want finished with 12", id, sum.State, len(sum.Receipts))
	}
	for _, r := range sum.Receipts {
		_, running := agents[r.Terminal]
		switch {
		case running && (r.State != receipts.Done || r.PlayingAt.IsZero() || r.DoneAt.Sub(r.PlayingAt) < 900*time.Millisecond):
			t.Errorf("%s: %s, playing %v done %v; want done about 1 s after playing", r.Terminal, r.State, r.PlayingAt, r.DoneAt)
		case !running && r.State != receipts.Offline:
			t.Errorf("%s has no agent: state %s, want offline", r.Terminal, r.State)
		}
	}
	var all []*agentProc
	for _, a := range agents {
		all = append(all, a)
	}
	sounds := heard(t, all...)
	for id, a := range agents {
		h := sounds[id]
		if strings.HasPrefix(a.group, village201) {
			// A 1 kHz tone at 16 kHz has 2 of every 16 samples near zero: loud samples are
			// 7/8 of the tone's span.
			span := h.LastLoud - h.FirstLoud + 1
			if span < 15700 || span > 16300 || h.Loud < span*85/100 || h.DominantHz < 980 || h.DominantHz > 1020 || h.Peak < 0.45 || h.Peak > 0.55 {
				t.Errorf("%s in the village: heard %+v (span %d); want 1 s (16000 samples) of 1000 Hz at peak 0.5", id, h, span)
			}
		} else if h.Loud != 0 || h.Samples == 0 {
			t.Errorf("%s outside the village: heard %+v; want silence (and some samples, so the device ran)", id, h)
		}
	}
}

func TestVillageBroadcastEmbeddedBroker(t *testing.T) {
	c := startController(t, "")
	checkVillageBroadcast(t, c, startFleet(t, c, ""))
}

func TestVillageBroadcastMosquitto(t *testing.T) {
	url := startMosquitto(t)
	c := startController(t, url)
	checkVillageBroadcast(t, c, startFleet(t, c, url))
}
