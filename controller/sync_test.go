package controller_test

// Synchronised playout end to end: a real controller with its embedded broker, and the
// fleet simulator in its own process with every terminal's clock off by up to ±2 s and 20 ms of
// jitter each way on the audio connections (which carry the clock probes). The horns must
// still start together, measured on the real clock by fleet-sim's sinks.

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/controller"
	"dalaba/controller/inventory"
	"dalaba/controller/receipts"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// fleetSim is a fleet-sim process serving its control endpoint.
type fleetSim struct {
	control string
	p       *proc
}

// startFleetSim runs fleet-sim for the whole site against c and waits until every terminal is
// online.
func startFleetSim(tb testing.TB, c *controller.Controller, extra ...string) *fleetSim {
	tb.Helper()
	f := &fleetSim{control: freeAddr(tb)}
	args := append([]string{"--site", siteCSV, "--broker", brokerURLOf(c), "--grpc", c.GRPCAddr,
		"--controller-key", c.CommandKeyFile, "--provision", provisionAll(tb, c), "--control", f.control}, plainFlags(c)...)
	args = append(args, extra...)
	f.p = spawn(tb, "fleet-sim", args...)
	n := c.Inventory().Len()
	deadline := time.Now().Add(60 * time.Second)
	for c.Presence.OnlineCount() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d simulated terminals online", c.Presence.OnlineCount(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f
}

// stop ends fleet-sim now (its cleanup would too, at the end of the test).
func (f *fleetSim) stop() {
	f.p.cmd.Process.Signal(syscall.SIGTERM)
	f.p.cmd.Wait()
}

func (f *fleetSim) get(tb testing.TB, path string, out any) {
	tb.Helper()
	resp, err := http.Get("http://" + f.control + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
}

// starts waits until want terminals have started broadcast id and returns the real time each
// one's sink started it.
func (f *fleetSim) starts(tb testing.TB, id string, want int) map[string]time.Time {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got struct {
			Starts map[string]int64 `json:"starts_unix_ns"`
		}
		f.get(tb, "/starts?broadcast="+id, &got)
		if len(got.Starts) >= want {
			out := make(map[string]time.Time, len(got.Starts))
			for t, ns := range got.Starts {
				out[t] = time.Unix(0, ns)
			}
			return out
		}
		if time.Now().After(deadline) {
			tb.Fatalf("broadcast %s: %d of %d terminals started", id, len(got.Starts), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// offsets are the simulated terminals' clock offsets.
func (f *fleetSim) offsets(tb testing.TB) map[string]time.Duration {
	var ns map[string]int64
	f.get(tb, "/clock-offsets", &ns)
	out := make(map[string]time.Duration, len(ns))
	for id, n := range ns {
		out[id] = time.Duration(n)
	}
	return out
}

// skew is one broadcast's start skew: the spread of the real start times and each
// terminal's distance from their median.
func skew(starts map[string]time.Time) (spread time.Duration, dev map[string]time.Duration) {
	ts := make([]time.Time, 0, len(starts))
	for _, t := range starts {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	median := ts[len(ts)/2]
	if len(ts)%2 == 0 {
		median = ts[len(ts)/2-1].Add(ts[len(ts)/2].Sub(ts[len(ts)/2-1]) / 2)
	}
	dev = make(map[string]time.Duration, len(starts))
	for id, t := range starts {
		d := t.Sub(median)
		dev[id] = max(d, -d)
	}
	return ts[len(ts)-1].Sub(ts[0]), dev
}

func TestSyncStartDespiteClockOffsetsAndJitter(t *testing.T) {
	c := startController(t, "")
	f := startFleetSim(t, c, "--clock-offsets", "2s", "--net-jitter", "20ms", "--seed", "5")

	// The offsets are really in force: the terminals' clocks, as the controller's clock check
	// sees them, are that far off, over a second apart from each other.
	offsets := f.offsets(t)
	village := c.Inventory().Under(wire.Address{Tier: wire.TierVillage, Code: village201})
	lo, hi := time.Hour, -time.Hour
	for _, term := range village {
		lo, hi = min(lo, offsets[term.ID]), max(hi, offsets[term.ID])
	}
	if hi-lo < time.Second {
		t.Fatalf("village clock offsets span only %v: the test would not show anything", hi-lo)
	}
	for _, term := range village[:3] {
		code, body := postJSON(t, "http://"+c.HTTPAddr+"/api/v1/terminals/"+term.ID+"/clock-check", "")
		clock, _ := body["clock"].(map[string]any)
		if code != 200 || clock == nil {
			t.Fatalf("clock check %s: %d %v", term.ID, code, body)
		}
		// The check is good to half its round trip (over MQTT, busy while 125 agents start).
		got, want := clock["offset_ms"].(float64), float64(offsets[term.ID].Milliseconds())
		if rtt, _ := body["round_trip_ms"].(float64); math.Abs(got-want) > rtt/2+5 {
			t.Fatalf("%s: the controller sees its clock %v ms off (round trip %v ms), fleet-sim set %v ms", term.ID, got, rtt, want)
		}
	}

	lateness := watchLateness(t, c, village)
	time.Sleep(2 * time.Second) // the start burst of clock probes, through the jitter
	for round := range 2 {
		code, body := post(t, c, map[string]string{"title": fmt.Sprintf("同步测试 %d", round), "targets": "village:" + village201},
			toneWAV(t, 700, time.Second))
		if code != 201 {
			t.Fatalf("post: %d %v", code, body)
		}
		id := body["id"].(string)
		sum, ok := c.Book.Snapshot(id)
		if !ok || sum.PlayAt.IsZero() {
			t.Fatalf("broadcast %s has no play-at", id)
		}
		starts := f.starts(t, id, len(village))
		rep := awaitFinishedReport(t, c.HTTPAddr, id)
		if n := rep.Counts[receipts.Done]; n != len(village) {
			t.Errorf("round %d: %d of %d done: %v", round, n, len(village), rep.Counts)
		}
		late := lateness.of(t, id, len(village))

		// Each terminal knows, on its estimate of the controller's clock, how late its first
		// sample was; the real clock says how late it truly was. They differ by the estimate's
		// error alone (machine load delays both alike), whatever the terminal's own clock says.
		// And the terminals that were ready in time start together. A fair bound for a loaded
		// 2-core machine under -race; BenchmarkStartSkew125 measures the real figures. Without
		// the clock estimate both would be the offsets' (over a second).
		onTime := map[string]time.Time{}
		for term, at := range starts {
			truly := at.Sub(sum.PlayAt)
			if e := truly - late[term]; e > 15*time.Millisecond || e < -15*time.Millisecond {
				t.Errorf("round %d: %s started %v after play-at but reports %v (clock off by %v): estimate off by %v",
					round, term, truly, late[term], offsets[term], e)
			}
			if late[term] < 5*time.Millisecond {
				onTime[term] = at
			}
		}
		if len(onTime) < len(village)/2 {
			t.Fatalf("round %d: only %d of %d terminals ready by play-at (lateness %v)", round, len(onTime), len(village), late)
		}
		spread, dev := skew(onTime)
		worst := ""
		for id, d := range dev {
			if worst == "" || d > dev[worst] {
				worst = id
			}
		}
		t.Logf("round %d: %d of %d terminals on time, started within %v (worst %s, %v from the median, clock off by %v)",
			round, len(onTime), len(village), spread, worst, dev[worst], offsets[worst])
		if spread > 15*time.Millisecond {
			t.Errorf("round %d: start spread %v across %d terminals on time, want within 15 ms", round, spread, len(onTime))
		}
	}
}

// lateness collects the late_us the terminals report with their done receipts, per broadcast.
type lateness struct {
	mu   sync.Mutex
	late map[string]map[string]time.Duration // broadcast -> terminal -> late
}

// watchLateness subscribes to the terminals' receipt topics on the controller's own broker.
func watchLateness(t testing.TB, c *controller.Controller, terms []inventory.Terminal) *lateness {
	l := &lateness{late: map[string]map[string]time.Duration{}}
	for _, term := range terms {
		err := c.Bus.Subscribe(wire.ReceiptTopic(term.ID), 1, func(_ string, payload []byte) {
			var r dalabapb.Receipt
			if proto.Unmarshal(payload, &r) != nil || r.State != dalabapb.ReceiptState_RECEIPT_STATE_DONE || r.Played == nil {
				return
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.late[r.BroadcastId] == nil {
				l.late[r.BroadcastId] = map[string]time.Duration{}
			}
			l.late[r.BroadcastId][r.TerminalId] = time.Duration(r.Played.LateUs) * time.Microsecond
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// of waits for want terminals' lateness in broadcast id.
func (l *lateness) of(t testing.TB, id string, want int) map[string]time.Duration {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := maps.Clone(l.late[id])
		l.mu.Unlock()
		if len(got) >= want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcast %s: done receipts with lateness from %d of %d terminals", id, len(got), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
