package health

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

func newTestBoard(t *testing.T) (*Board, *Events) {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := NewEvents(db, log)
	return NewBoard(func(id string) bool { return strings.HasPrefix(id, "t") }, ev, log), ev
}

const (
	supply = dalabapb.FaultKind_FAULT_KIND_SUPPLY_CURRENT_LOW
	signal = dalabapb.FaultKind_FAULT_KIND_SIGNAL_WEAK
	idle   = dalabapb.WorkState_WORK_STATE_IDLE
)

func beat(id string, at int64, state dalabapb.WorkState, faults ...dalabapb.FaultKind) *dalabapb.Telemetry {
	return &dalabapb.Telemetry{TerminalId: id, AtUnixMs: at, WorkState: state, Volume: 80, UptimeS: 12,
		AgentVersion: "0.1.0", ActiveFaults: faults, HeartbeatMs: 30_000}
}

func fault(id string, at int64, k dalabapb.FaultKind, active bool) *dalabapb.FaultEvent {
	return &dalabapb.FaultEvent{TerminalId: id, AtUnixMs: at, Kind: k, Active: active, Detail: "d"}
}

func TestBoardFaultsFromEventsAndHeartbeats(t *testing.T) {
	b, evs := newTestBoard(t)
	ctx := context.Background()
	if s := b.Get("t1"); s.Reported || len(s.Faults) != 0 || s.Faults == nil {
		t.Fatalf("before anything: %+v", s)
	}
	if p, err := b.Telemetry("t1", beat("t1", 1000, idle)); err != nil || p != 30*time.Second {
		t.Fatalf("telemetry: %v, %v", p, err)
	}
	if s := b.Get("t1"); !s.Reported || s.WorkState != "idle" || s.Volume != 80 || s.Uptime != 12*time.Second {
		t.Fatalf("after a heartbeat: %+v", s)
	}
	// A fault event after the heartbeat: fault at once, without waiting for the next beat.
	if err := b.Fault(ctx, "t1", fault("t1", 2000, supply, true)); err != nil {
		t.Fatal(err)
	}
	if s := b.Get("t1"); s.WorkState != "fault" || len(s.Faults) != 1 || s.Faults[0].Kind != "supply_current_low" {
		t.Fatalf("after a fault: %+v", s)
	}
	// A heartbeat taken before the event (delivered late) does not undo it.
	b.Telemetry("t1", beat("t1", 1500, idle))
	if s := b.Get("t1"); len(s.Faults) != 1 {
		t.Fatalf("a stale heartbeat cleared the fault: %+v", s)
	}
	// A newer heartbeat is the truth: it lists another fault (its event was lost) and not
	// the first (its recovery was lost).
	b.Telemetry("t1", beat("t1", 3000, dalabapb.WorkState_WORK_STATE_FAULT, signal))
	if s := b.Get("t1"); len(s.Faults) != 1 || s.Faults[0].Kind != "signal_weak" || s.WorkState != "fault" {
		t.Fatalf("after a newer heartbeat: %+v", s)
	}
	b.Telemetry("t1", beat("t1", 4000, dalabapb.WorkState_WORK_STATE_PLAYING, signal))
	if s := b.Get("t1"); s.WorkState != "playing" {
		t.Fatalf("playing with a fault: %+v, want playing", s)
	}
	if n := b.ActiveFaults(); n["signal_weak"] != 1 || len(n) != 1 {
		t.Fatalf("ActiveFaults %v", n)
	}
	stored, err := evs.List(ctx, "t1", 10)
	if err != nil || len(stored) != 1 || stored[0].Kind != "supply_current_low" || !stored[0].Active || stored[0].At.UnixMilli() != 2000 {
		t.Fatalf("stored %+v, %v: only events are stored, not heartbeat reconciliations", stored, err)
	}
}

func TestBoardRefusesMalformedAndUnknown(t *testing.T) {
	b, evs := newTestBoard(t)
	ctx := context.Background()
	bad := func(mod func(*dalabapb.Telemetry)) *dalabapb.Telemetry {
		m := beat("t1", 1000, idle)
		mod(m)
		return m
	}
	for name, m := range map[string]*dalabapb.Telemetry{
		"other terminal's id": bad(func(m *dalabapb.Telemetry) { m.TerminalId = "t2" }),
		"no work state":       bad(func(m *dalabapb.Telemetry) { m.WorkState = 0 }),
		"unknown work state":  bad(func(m *dalabapb.Telemetry) { m.WorkState = 9 }),
		"volume 101":          bad(func(m *dalabapb.Telemetry) { m.Volume = 101 }),
		"volume -1":           bad(func(m *dalabapb.Telemetry) { m.Volume = -1 }),
		"no period":           bad(func(m *dalabapb.Telemetry) { m.HeartbeatMs = 0 }),
		"period too short":    bad(func(m *dalabapb.Telemetry) { m.HeartbeatMs = wire.MinHeartbeatMs - 1 }),
		"unknown fault":       bad(func(m *dalabapb.Telemetry) { m.ActiveFaults = []dalabapb.FaultKind{77} }),
		"negative uptime":     bad(func(m *dalabapb.Telemetry) { m.UptimeS = -5 }),
	} {
		if _, err := b.Telemetry("t1", m); err == nil {
			t.Errorf("%s: taken", name)
		}
	}
	if _, err := b.Telemetry("x1", beat("x1", 1000, idle)); err == nil {
		t.Error("telemetry from an unknown terminal taken")
	}
	for name, e := range map[string]*dalabapb.FaultEvent{
		"other terminal's id": fault("t2", 1000, supply, true),
		"unspecified kind":    fault("t1", 1000, 0, true),
		"unknown kind":        fault("t1", 1000, 99, true),
		"no time":             fault("t1", 0, supply, true),
	} {
		if err := b.Fault(ctx, "t1", e); err == nil {
			t.Errorf("fault event %s: taken", name)
		}
	}
	if err := b.Fault(ctx, "x1", fault("x1", 1000, supply, true)); err == nil {
		t.Error("fault from an unknown terminal taken")
	}
	if s := b.Get("t1"); s.Reported || len(s.Faults) != 0 {
		t.Fatalf("refused reports changed the board: %+v", s)
	}
	if stored, _ := evs.List(ctx, "", 100); len(stored) != 0 {
		t.Fatalf("refused reports stored: %+v", stored)
	}
}

func TestEventsListNewestFirstByTerminalWithLimit(t *testing.T) {
	_, evs := newTestBoard(t)
	ctx := context.Background()
	for i, id := range []string{"t1", "t2", "t1", "t1"} {
		at := time.UnixMilli(int64(1000 * (i + 1)))
		if err := evs.Record(ctx, Event{Terminal: id, Kind: "signal_weak", Active: i%2 == 0, At: at, Received: at}); err != nil {
			t.Fatal(err)
		}
	}
	evs.Presence("t2", false, "no heartbeat for 1m", time.UnixMilli(9000))
	all, _ := evs.List(ctx, "", 100)
	if len(all) != 5 || all[0].Terminal != "t2" || all[0].Kind != KindOffline || !all[0].Active || all[0].Describe() != "离线" {
		t.Fatalf("all: %+v", all)
	}
	t1, _ := evs.List(ctx, "t1", 2)
	if len(t1) != 2 || t1[0].At.UnixMilli() != 4000 || t1[1].At.UnixMilli() != 3000 || t1[0].Describe() != "信号强度过低：已恢复" {
		t.Fatalf("t1, limit 2: %+v", t1)
	}
}

func TestEveryFaultKindHasAChineseName(t *testing.T) {
	for k := range dalabapb.FaultKind_name {
		name := wire.FaultName(dalabapb.FaultKind(k))
		if name != "" && FaultChinese(name) == name {
			t.Errorf("fault %s has no Chinese name", name)
		}
	}
	for _, s := range []string{"idle", "playing", "fault"} {
		if WorkStateChinese(s) == s {
			t.Errorf("work state %s has no Chinese name", s)
		}
	}
}
