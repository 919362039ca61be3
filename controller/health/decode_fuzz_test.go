package health

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// fuzzFrom are the topics a fuzzed payload arrives on: terminals with faults and without, one
// outside the inventory, and an empty one.
var fuzzFrom = []string{"t1", "t2", "x9", ""}

// fuzzBoard is a board over a real store with t1 reporting a heartbeat with a fault and t2 a
// fault event newer than its heartbeat.
func fuzzBoard(t testing.TB, db *store.DB) *Board {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := NewBoard(func(id string) bool { return strings.HasPrefix(id, "t") }, NewEvents(db, log), log)
	now := time.Now().UnixMilli()
	if _, err := b.Telemetry("t1", beat("t1", now, idle, supply)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Telemetry("t2", beat("t2", now-1000, idle)); err != nil {
		t.Fatal(err)
	}
	if err := b.Fault(context.Background(), "t2", fault("t2", now, signal, true)); err != nil {
		t.Fatal(err)
	}
	return b
}

func fuzzDB(f *testing.F) *store.DB {
	db, err := store.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	return db
}

func statuses(b *Board) map[string]Status {
	out := map[string]Status{}
	for _, id := range fuzzFrom {
		out[id] = b.Get(id)
	}
	return out
}

func eventCount(t *testing.T, db *store.DB) int {
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM terminal_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkShown: what the API shows of the board and the event record can be encoded.
func checkShown(t *testing.T, b *Board, db *store.DB) {
	t.Helper()
	if _, err := json.Marshal(statuses(b)); err != nil {
		t.Fatalf("terminal health cannot be encoded for the API: %v", err)
	}
	evs, err := NewEvents(db, slog.New(slog.DiscardHandler)).List(context.Background(), "", 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(evs); err != nil {
		t.Fatalf("events cannot be encoded for the API: %v", err)
	}
}

// FuzzTelemetry feeds the heartbeat decoder (unmarshal, then Board.Telemetry) arbitrary
// payloads. It must never panic; a refused heartbeat changes nothing; an accepted one comes from
// a known terminal on its own topic, promises a period within the wire bounds, and leaves a
// status with a volume of 0-100, a known work state and distinct known faults, which the API
// can encode.
func FuzzTelemetry(f *testing.F) {
	db := fuzzDB(f)
	now := time.Now().UnixMilli()
	for i, m := range []*dalabapb.Telemetry{
		beat("t1", now, idle), beat("t2", now, dalabapb.WorkState_WORK_STATE_PLAYING, supply, signal),
		beat("t1", now-5000, dalabapb.WorkState_WORK_STATE_FAULT, supply), {TerminalId: "t1", HeartbeatMs: 1},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	f.Fuzz(func(t *testing.T, payload []byte, fromIdx uint8) {
		from := fuzzFrom[int(fromIdx)%len(fuzzFrom)]
		b := fuzzBoard(t, db)
		var m dalabapb.Telemetry
		if proto.Unmarshal(payload, &m) != nil {
			return
		}
		before := statuses(b)
		period, err := b.Telemetry(from, &m)
		after := statuses(b)
		for _, id := range fuzzFrom {
			if (err != nil || id != from) && !reflect.DeepEqual(before[id], after[id]) {
				t.Fatalf("heartbeat from %q (err %v) changed %s:\n%+v\n%+v", from, err, id, before[id], after[id])
			}
		}
		if err != nil {
			return
		}
		if !strings.HasPrefix(from, "t") || m.GetTerminalId() != from {
			t.Fatalf("accepted heartbeat %v on the topic of %q", &m, from)
		}
		if period < wire.MinHeartbeatMs*time.Millisecond || period > wire.MaxHeartbeatMs*time.Millisecond {
			t.Fatalf("accepted heartbeat period %v", period)
		}
		s := after[from]
		if !s.Reported || s.Volume < 0 || s.Volume > 100 || wire.WorkStateName(m.GetWorkState()) == "" || s.Heartbeat != period {
			t.Fatalf("heartbeat %v left %+v", &m, s)
		}
		seen := map[string]bool{}
		for _, fl := range s.Faults {
			if seen[fl.Kind] || fl.Name == "" {
				t.Fatalf("faults %+v: repeated or unnamed", s.Faults)
			}
			seen[fl.Kind] = true
		}
		checkShown(t, b, db)
	})
}

// FuzzFaultEvent feeds the fault event decoder (unmarshal, then Board.Fault) arbitrary
// payloads. It must never panic; a refused event changes no status and stores nothing; an
// accepted one is stored once, raises or clears exactly its fault, and the event record stays
// encodable for the API.
func FuzzFaultEvent(f *testing.F) {
	db := fuzzDB(f)
	now := time.Now().UnixMilli()
	for i, e := range []*dalabapb.FaultEvent{
		fault("t1", now, signal, true), fault("t2", now, signal, false), fault("t1", now, supply, false),
		{TerminalId: "t1", Kind: supply, Active: true, AtUnixMs: -1}, {TerminalId: "t1", Kind: 999, Active: true, AtUnixMs: now},
	} {
		b, err := proto.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	f.Fuzz(func(t *testing.T, payload []byte, fromIdx uint8) {
		from := fuzzFrom[int(fromIdx)%len(fuzzFrom)]
		b := fuzzBoard(t, db)
		var e dalabapb.FaultEvent
		if proto.Unmarshal(payload, &e) != nil {
			return
		}
		before, stored := statuses(b), eventCount(t, db)
		err := b.Fault(context.Background(), from, &e)
		after := statuses(b)
		for _, id := range fuzzFrom {
			if (err != nil || id != from) && !reflect.DeepEqual(before[id], after[id]) {
				t.Fatalf("fault event from %q (err %v) changed %s:\n%+v\n%+v", from, err, id, before[id], after[id])
			}
		}
		if err != nil {
			if n := eventCount(t, db); n != stored {
				t.Fatalf("refused fault event (%v) stored %d events", err, n-stored)
			}
			return
		}
		if !strings.HasPrefix(from, "t") || e.GetTerminalId() != from {
			t.Fatalf("accepted fault event %v on the topic of %q", &e, from)
		}
		if n := eventCount(t, db); n != stored+1 {
			t.Fatalf("accepted fault event stored %d events, want 1", n-stored)
		}
		has := false
		for _, fl := range after[from].Faults {
			has = has || fl.Kind == wire.FaultName(e.GetKind())
		}
		if has != e.GetActive() {
			t.Fatalf("fault event %v: fault listed %v, want %v (%+v)", &e, has, e.GetActive(), after[from].Faults)
		}
		checkShown(t, b, db)
	})
}
