package presence

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
)

// record is what the tracker told the rest of the controller.
type record struct {
	mu      sync.Mutex
	offline []string
	changes []string
}

func (r *record) get() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.offline...), append([]string(nil), r.changes...)
}

func newTestTracker(t *testing.T) (*Tracker, *record) {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &record{}
	tr := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), func(id string) bool { return strings.HasPrefix(id, "t") },
		func(id string, _ time.Time) { r.mu.Lock(); r.offline = append(r.offline, id); r.mu.Unlock() })
	tr.OnChange(func(id string, online bool, cause string, _ time.Time) {
		r.mu.Lock()
		r.changes = append(r.changes, fmt.Sprintf("%s online=%v %s", id, online, strings.Fields(cause)[0]))
		r.mu.Unlock()
	})
	if err := tr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	return tr, r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not after 3 s: %s", what)
		}
	}
}

func TestHeartbeatExpiryMarksOfflineOnceAndHeartbeatBringsBack(t *testing.T) {
	tr, r := newTestTracker(t)
	const period = 50 * time.Millisecond
	if err := tr.Heartbeat("t1", "v", period, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Heartbeats every period keep it online for many TTLs.
	for range 10 {
		time.Sleep(period)
		tr.Heartbeat("t1", "v", period, time.Now())
	}
	if !tr.Get("t1").Online {
		t.Fatal("offline despite heartbeats")
	}
	// Receipts keep it alive too.
	for range 4 {
		time.Sleep(period)
		tr.Touch("t1")
	}
	if off, _ := r.get(); len(off) != 0 {
		t.Fatalf("offline called while alive: %v", off)
	}
	silent := time.Now()
	waitFor(t, "expiry", func() bool { return !tr.Get("t1").Online })
	if took := time.Since(silent); took < 2*period || took > 2*period+100*time.Millisecond {
		t.Errorf("expired after %v, want 2 periods (%v)", took, 2*period)
	}
	time.Sleep(3 * period) // no second expiry while offline
	off, changes := r.get()
	if len(off) != 1 || len(changes) != 1 || changes[0] != "t1 online=false no" {
		t.Fatalf("offline %v, changes %v; want one expiry", off, changes)
	}
	tr.Heartbeat("t1", "v", period, time.Now())
	if _, changes = r.get(); !tr.Get("t1").Online || len(changes) != 2 || changes[1] != "t1 online=true heartbeat" {
		t.Fatalf("after a new heartbeat: online %v, changes %v", tr.Get("t1").Online, changes)
	}
}

func TestStatusArmsAfterADeclaredPeriodAndOfflineStatusDisarms(t *testing.T) {
	tr, r := newTestTracker(t)
	// An agent that never declared a period (older agent) is not timed out.
	tr.Apply("t1", &dalabapb.Status{TerminalId: "t1", Online: true})
	time.Sleep(150 * time.Millisecond)
	if !tr.Get("t1").Online {
		t.Fatal("a terminal without a declared period was timed out")
	}
	tr.Heartbeat("t1", "v", 40*time.Millisecond, time.Now())
	tr.Apply("t1", &dalabapb.Status{TerminalId: "t1", Online: false}) // goodbye
	time.Sleep(150 * time.Millisecond)
	off, changes := r.get()
	if len(off) != 1 || len(changes) != 1 || changes[0] != "t1 online=false offline" {
		t.Fatalf("offline %v, changes %v; want exactly the goodbye", off, changes)
	}
	// Back by status after an offline: that return is news.
	tr.Apply("t1", &dalabapb.Status{TerminalId: "t1", Online: true})
	if _, changes = r.get(); len(changes) != 2 || changes[1] != "t1 online=true online" {
		t.Fatalf("changes %v", changes)
	}
}

func TestHeartbeatFromUnknownTerminalIsRefused(t *testing.T) {
	tr, _ := newTestTracker(t)
	if err := tr.Heartbeat("x9", "v", time.Second, time.Now()); err == nil || tr.Get("x9").Online {
		t.Fatalf("unknown terminal: err %v, online %v", err, tr.Get("x9").Online)
	}
}

func TestStopDisarms(t *testing.T) {
	tr, r := newTestTracker(t)
	tr.Heartbeat("t1", "v", 30*time.Millisecond, time.Now())
	tr.Stop()
	time.Sleep(150 * time.Millisecond)
	if off, _ := r.get(); len(off) != 0 || !tr.Get("t1").Online {
		t.Fatalf("expired after Stop: %v", off)
	}
}

// A heartbeat overtaken by the goodbye that followed it (they travel on different topics)
// must not bring the terminal back; one sent after the goodbye must.
func TestHeartbeatSentBeforeGoodbyeIsStale(t *testing.T) {
	tr, _ := newTestTracker(t)
	sent := time.Now()
	if err := tr.Apply("t1", &dalabapb.Status{TerminalId: "t1", Online: true, AtUnixMs: sent.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	bye := sent.Add(5 * time.Millisecond)
	if err := tr.Apply("t1", &dalabapb.Status{TerminalId: "t1", Online: false, AtUnixMs: bye.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Heartbeat("t1", "v", time.Second, bye.Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if tr.Get("t1").Online {
		t.Fatal("a heartbeat sent before the goodbye brought the terminal back online")
	}
	if err := tr.Heartbeat("t1", "v", time.Second, bye.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if !tr.Get("t1").Online {
		t.Fatal("a heartbeat sent after the goodbye did not bring the terminal back")
	}
}
