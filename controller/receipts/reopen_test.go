package receipts

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
)

// A controller killed with broadcasts open: the next one, on the same store, takes them up
// where the store left them. Terminals' later reports land, redelivery reaches those that had
// not finished (also those whose last report died with the old process), finished ones are
// left alone, and the sweep still closes the window.
func TestReopenAfterRestart(t *testing.T) {
	bk, db := newBook(t)
	created := now()
	mustOpen(t, bk, broadcast("b-open", created, time.Minute), fourTargets)
	mustOpen(t, bk, broadcast("b-done", created.Add(-2*time.Minute), time.Minute), fourTargets[:1]) // window closed
	// Finished at once (its only target offline), but within its window: t004 gets it on return.
	mustOpen(t, bk, broadcast("b-offline", created, time.Minute), fourTargets[3:])
	mustApply(t, bk, report("t001", "b-open", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, bk, report("t002", "b-open", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	mustApply(t, bk, report("t001", "b-done", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	flush(t, bk)
	before := snapshot(t, bk, "b-open")

	// The restarted controller: a new book on the same store, the program read back.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	again := NewBook(ctx, db, slog.New(slog.DiscardHandler))
	var asked []string
	n, err := again.Reopen(ctx, func(id string) (int64, float64, error) {
		asked = append(asked, id)
		return programBytes, programPeak, nil
	})
	if err != nil || n != 2 || len(asked) != 2 || asked[0] != programID {
		t.Fatalf("Reopen: %d broadcasts, programs asked %v, err %v; want b-open and b-offline", n, asked, err)
	}
	got := snapshot(t, again, "b-open")
	if got.State != StateActive || got.ProgramBytes != programBytes || got.ProgramPeak != programPeak ||
		!got.CreatedAt.Equal(created) || len(got.Receipts) != 4 {
		t.Fatalf("reopened %+v", got)
	}
	for i, r := range got.Receipts {
		if r.State != before.Receipts[i].State || r.Terminal != before.Receipts[i].Terminal {
			t.Errorf("receipt %s reopened %s, was %s", r.Terminal, r.State, before.Receipts[i].State)
		}
	}
	if _, ok := again.Snapshot("b-done"); ok {
		t.Error("a finished broadcast whose window has closed was reopened")
	}
	if s := snapshot(t, again, "b-offline"); s.State != StateFinished || s.Counts[Offline] != 1 {
		t.Errorf("b-offline reopened %s %v", s.State, s.Counts)
	}

	undelivered := func(term string) int { return len(again.Undelivered(term, time.Now())) }
	for term, want := range map[string]int{"t001": 0, "t002": 1, "t013": 1, "t004": 2} {
		if got := undelivered(term); got != want {
			t.Errorf("Undelivered(%s) = %d broadcasts, want %d", term, got, want)
		}
	}

	mustApply(t, again, report("t002", "b-open", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, again, report("t013", "b-open", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	// The same done again (a terminal answering a redelivered command) changes nothing.
	mustApply(t, again, report("t001", "b-open", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	again.Sweep(created.Add(2*time.Minute), time.Hour) // t004 never came back
	flush(t, again)
	s, err := Load(ctx, db, "b-open")
	if err != nil {
		t.Fatal(err)
	}
	if s.State != StateFinished || s.Counts[Done] != 3 || s.Counts[Offline] != 1 {
		t.Fatalf("stored after the restart: %s %v, want finished, 3 done, 1 offline", s.State, s.Counts)
	}

	// A third start, once every window has closed, finds nothing to reopen.
	third := NewBook(ctx, db, slog.New(slog.DiscardHandler))
	db.ExecContext(ctx, `UPDATE broadcasts SET valid_until_ms = ?`, created.Add(-time.Second).UnixMilli())
	if n, err := third.Reopen(ctx, func(string) (int64, float64, error) { return 0, 0, errors.New("not asked") }); n != 0 || err != nil {
		t.Fatalf("third start reopened %d (%v)", n, err)
	}
}
