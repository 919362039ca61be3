package receipts

import (
	"context"
	"errors"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
)

// A program cut by a higher priority goes playing -> preempted -> playing -> done, and the
// counts follow; a stale preempted after done does not move it back.
func TestPreemptedAndResumed(t *testing.T) {
	bk, _ := newBook(t)
	b := broadcast("b-preempt", now(), time.Minute)
	mustOpen(t, bk, b, fourTargets[:1])
	for _, st := range []dalabapb.ReceiptState{dalabapb.ReceiptState_RECEIPT_STATE_PLAYING,
		dalabapb.ReceiptState_RECEIPT_STATE_PREEMPTED} {
		mustApply(t, bk, report("t001", b.ID, st))
	}
	checkCounts(t, snapshot(t, bk, b.ID), Counts{Preempted: 1})
	mustApply(t, bk, report("t001", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	checkCounts(t, snapshot(t, bk, b.ID), Counts{Playing: 1})
	mustApply(t, bk, report("t001", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, bk, report("t001", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_PREEMPTED))
	s := snapshot(t, bk, b.ID)
	checkCounts(t, s, Counts{Done: 1})
	if s.State != StateFinished {
		t.Errorf("state %s, want finished", s.State)
	}
}

// Cancel: terminals that never had the broadcast are cancelled at once, those playing answer
// with their own cancelled receipt and proof; the broadcast stays cancelled in the store and
// is never redelivered.
func TestCancel(t *testing.T) {
	bk, db := newBook(t)
	ctx := context.Background()
	b := broadcast("b-cancel", now(), time.Minute)
	mustOpen(t, bk, b, fourTargets) // t004 offline
	mustApply(t, bk, report("t001", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	mustApply(t, bk, report("t002", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_DONE))

	got, err := bk.Cancel(ctx, b.ID, "险情解除", time.Now())
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if got.CancelReason != "险情解除" || got.CancelledAt.IsZero() || got.Targets != b.Targets {
		t.Errorf("Cancel returned %+v", got)
	}
	s := snapshot(t, bk, b.ID)
	checkCounts(t, s, Counts{Playing: 1, Done: 1, Cancelled: 2}) // t013 pending and t004 offline
	if s.State != StateCancelled {
		t.Errorf("state %s, want cancelled", s.State)
	}
	if u := bk.Undelivered("t004", time.Now()); len(u) != 0 {
		t.Errorf("cancelled broadcast offered for redelivery: %v", u)
	}

	// The playing terminal stops and reports what it played.
	r := report("t001", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED)
	r.Played = &dalabapb.PlayReport{Bytes: 8000, DurationMs: 250, Peak: 0.4, Rms: 0.1, Volume: 100}
	mustApply(t, bk, r)
	s = snapshot(t, bk, b.ID)
	checkCounts(t, s, Counts{Done: 1, Cancelled: 3})
	if p := receiptOf(t, s, "t001").Played; p == nil || p.Bytes != 8000 {
		t.Errorf("t001 proof %+v, want the 8000 bytes it played before the stop", p)
	}
	// The pending terminal that later says it cancelled too keeps its cancel, with its word.
	mustApply(t, bk, report("t013", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED))

	if _, err := bk.Cancel(ctx, b.ID, "second", time.Now()); err != nil {
		t.Errorf("second cancel: %v", err)
	}
	flush(t, bk)
	stored, err := Load(ctx, db, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != StateCancelled || stored.CancelReason != "险情解除" || stored.CancelledAt.IsZero() {
		t.Errorf("stored state %q reason %q at %v, want cancelled 险情解除", stored.State, stored.CancelReason, stored.CancelledAt)
	}
	checkCounts(t, stored, Counts{Done: 1, Cancelled: 3})

	if _, err := bk.Cancel(ctx, "no-such-broadcast", "x", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel of an unknown broadcast: %v, want ErrNotFound", err)
	}
}

// The emergency fields survive the store.
func TestEmergencyFieldsStored(t *testing.T) {
	bk, db := newBook(t)
	b := broadcast("b-emergency", now(), time.Minute)
	b.Severity, b.Repeat, b.RepeatInterval, b.ForcedVolume = 1, 3, 5*time.Second, 90
	b.EndAt = now().Add(10 * time.Minute)
	b.PlayAt = time.UnixMicro(time.Now().UnixMicro() + 150_000)
	mustOpen(t, bk, b, fourTargets[:1])
	s, err := Load(context.Background(), db, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Severity != 1 || s.Repeat != 3 || s.RepeatInterval != 5*time.Second || s.ForcedVolume != 90 ||
		!s.EndAt.Equal(b.EndAt) || !s.PlayAt.Equal(b.PlayAt) {
		t.Errorf("stored %+v, want the emergency fields of %+v", s.Broadcast, b)
	}
}

// A broadcast every terminal has finished cannot be cancelled any more; a cancelled one leaves
// memory like a finished one once its window has closed.
func TestCancelAfterFinishAndSweep(t *testing.T) {
	bk, _ := newBook(t)
	ctx := context.Background()
	b := broadcast("b-finished", now(), time.Minute)
	mustOpen(t, bk, b, fourTargets[:1])
	mustApply(t, bk, report("t001", b.ID, dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	if _, err := bk.Cancel(ctx, b.ID, "late", time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("cancel of a finished broadcast: %v, want ErrClosed", err)
	}
	if s := snapshot(t, bk, b.ID); s.State != StateFinished {
		t.Errorf("state %s after a refused cancel, want finished", s.State)
	}

	c := broadcast("b-cancelled", now(), time.Minute)
	mustOpen(t, bk, c, fourTargets[3:]) // offline only: the cancel finishes it at once
	if _, err := bk.Cancel(ctx, c.ID, "解除", time.Now()); err != nil {
		t.Fatal(err)
	}
	bk.Sweep(time.Now().Add(2*time.Minute), time.Second)
	if _, ok := bk.Snapshot(c.ID); ok {
		t.Error("cancelled broadcast still in memory after its window and the keep time")
	}
}
