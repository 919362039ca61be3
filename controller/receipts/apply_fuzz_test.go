package receipts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
)

// fuzzFrom are the topics a fuzzed receipt arrives on: the broadcast's terminals in every
// state, a terminal it was not sent to, and an empty one.
var fuzzFrom = []string{"t001", "t002", "t003", "t004", "t005", "t006", "t099", ""}

// FuzzApply feeds the receipt decoder the controller runs on every receipt topic (unmarshal,
// then Book.Apply) arbitrary payloads, on the topic of a terminal in any state. It must never
// panic; a refused receipt changes nothing (not half applied); an accepted one changes only its
// own terminal's receipt, never moves it backwards (except the documented swaps and
// overrules), keeps the counts true, stores what memory holds, and leaves a report the API can
// encode, with no time in the future.
//
// A payload naming broadcast "b1" is pointed at the broadcast opened for this run.
func FuzzApply(f *testing.F) {
	bk, db, logs := fuzzBook(f)
	now := time.Now().UnixMilli()
	proof := &dalabapb.PlayReport{Bytes: programBytes, DurationMs: 1000, Peak: 0.45, Rms: 0.12, Volume: 80, StartedUnixMs: now - 1000, EndedUnixMs: now}
	for i, r := range []*dalabapb.Receipt{
		{TerminalId: "t001", BroadcastId: "b1", State: dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED, AtUnixMs: now},
		{TerminalId: "t002", BroadcastId: "b1", State: dalabapb.ReceiptState_RECEIPT_STATE_PLAYING, AtUnixMs: now, ReceivedUnixMs: now - 50, FetchedUnixMs: now - 20},
		{TerminalId: "t003", BroadcastId: "b1", State: dalabapb.ReceiptState_RECEIPT_STATE_DONE, AtUnixMs: now, Played: proof},
		{TerminalId: "t003", BroadcastId: "b1", State: dalabapb.ReceiptState_RECEIPT_STATE_PREEMPTED, AtUnixMs: now},
		{TerminalId: "t004", BroadcastId: "b1", State: dalabapb.ReceiptState_RECEIPT_STATE_FAILED, Reason: dalabapb.FailureReason_FAILURE_REASON_AUDIO_DEVICE, Detail: "声卡故障", AtUnixMs: now},
		{TerminalId: "t005", BroadcastId: "b1", State: dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED, AtUnixMs: now, Played: proof},
		{TerminalId: "t006", BroadcastId: "b1", State: dalabapb.ReceiptState_RECEIPT_STATE_DONE, AtUnixMs: now, Played: proof},
		{TerminalId: "t001", BroadcastId: "b2", State: dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i%6))
	}
	f.Add([]byte{0xff, 0x01}, uint8(0))

	run := 0
	f.Fuzz(func(t *testing.T, payload []byte, fromIdx uint8) {
		run++
		id := fmt.Sprintf("fz-%d-%d", time.Now().UnixNano(), run)
		from := fuzzFrom[int(fromIdx)%len(fuzzFrom)]
		openFuzzBroadcast(t, bk, id)
		defer bk.Sweep(time.Now().Add(48*time.Hour), 0) // close it: the book stays small

		var r dalabapb.Receipt
		if err := proto.Unmarshal(payload, &r); err != nil {
			return // refused before the book sees it
		}
		if r.BroadcastId == "b1" {
			r.BroadcastId = id
		}
		before := snapshot(t, bk, id)
		err := bk.Apply(&r, from)
		after := snapshot(t, bk, id)
		if err != nil {
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("refused (%v) but the broadcast changed:\nbefore %+v\nafter  %+v", err, before, after)
			}
			return
		}
		checkFuzzApplied(t, before, after, from)
		flush(t, bk)
		if s := logs.String(); strings.Contains(s, "level=ERROR") {
			t.Fatalf("the book logged errors storing the receipt %v:\n%s", &r, s)
		}
		stored, err := Load(context.Background(), db, id)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := receiptOf(t, stored, from), receiptOf(t, after, from); !sameStored(got, want) {
			t.Fatalf("stored receipt differs from memory:\nstored %+v %+v\nmemory %+v %+v", got, got.Played, want, want.Played)
		}
	})
}

// checkFuzzApplied holds for every accepted receipt.
func checkFuzzApplied(t *testing.T, before, after Summary, from string) {
	t.Helper()
	checkCounts(t, after, after.Counts)
	for i := range after.Receipts {
		b, a := before.Receipts[i], after.Receipts[i]
		if a.Terminal != from && !reflect.DeepEqual(a, b) {
			t.Fatalf("a receipt from %s changed %s's: %+v -> %+v", from, a.Terminal, b, a)
		}
		if a.Terminal != from {
			continue
		}
		swap := (b.State == Playing && a.State == Preempted) || (b.State == Preempted && a.State == Playing)
		overrule := b.Reason.controllerVerdict()
		if a.State.rank() < b.State.rank() && !swap && !overrule {
			t.Fatalf("%s moved backwards: %s -> %s", from, b.State, a.State)
		}
	}
	if _, err := json.Marshal(after); err != nil {
		t.Fatalf("the API cannot encode the report: %v", err)
	}
	limit := time.Now()
	for _, r := range after.Receipts {
		for name, at := range map[string]time.Time{"updated": r.UpdatedAt, "received": r.ReceivedAt, "fetched": r.FetchedAt,
			"playing": r.PlayingAt, "done": r.DoneAt} {
			if at.After(limit) {
				t.Fatalf("%s: %s at %v, after now (%v)", r.Terminal, name, at, limit)
			}
		}
	}
}

// sameStored compares a receipt read back from the store with memory, which keeps finer times.
func sameStored(s, m Receipt) bool {
	msEq := func(a, b time.Time) bool { return ms(a) == ms(b) }
	ok := s.Terminal == m.Terminal && s.Village == m.Village && s.State == m.State && s.Reason == m.Reason && s.Detail == m.Detail &&
		msEq(s.UpdatedAt, m.UpdatedAt) && msEq(s.ReceivedAt, m.ReceivedAt) && msEq(s.FetchedAt, m.FetchedAt) &&
		msEq(s.PlayingAt, m.PlayingAt) && msEq(s.DoneAt, m.DoneAt) && (s.Played == nil) == (m.Played == nil)
	if !ok || s.Played == nil {
		return ok
	}
	p, q := *s.Played, *m.Played
	return p.Bytes == q.Bytes && p.Duration == q.Duration && p.Peak == q.Peak && p.RMS == q.RMS && p.Volume == q.Volume &&
		msEq(p.Start, q.Start) && msEq(p.End, q.End)
}

// fuzzBook is newBook for fuzz targets: a real store, the book's log kept to fail on.
func fuzzBook(f *testing.F) (*Book, *store.DB, *lockedBuffer) {
	db, err := store.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`INSERT INTO programs (id, bytes, source, created_ms) VALUES (?, 32000, 'chime.wav', 1)`, programID); err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	logs := &lockedBuffer{}
	return NewBook(ctx, db, slog.New(slog.NewTextHandler(logs, nil))), db, logs
}

// openFuzzBroadcast opens a broadcast with a receipt in each state an agent can find it in:
// t001 pending, t002 received, t003 playing, t004 offline, t005 done, t006 failed as
// disconnected (the controller's verdict, which the terminal may still overrule).
func openFuzzBroadcast(t *testing.T, bk *Book, id string) {
	t.Helper()
	targets := make([]Target, 6)
	for i := range targets {
		targets[i] = Target{Terminal: fmt.Sprintf("t%03d", i+1), Village: "361126104201", Online: i != 3}
	}
	mustOpen(t, bk, broadcast(id, now(), time.Hour), targets)
	mustApply(t, bk, report("t002", id, dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED))
	mustApply(t, bk, report("t003", id, dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	mustApply(t, bk, report("t005", id, dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, bk, report("t006", id, dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	bk.mu.Lock()
	e := bk.open[id]
	bk.update(e, e.receipts["t006"], Failed, Disconnected, "", time.Now(), false, nil)
	bk.mu.Unlock()
}
