package receipts

import (
	"context"
	"fmt"
	"time"
)

// Cancel marks an open broadcast cancelled, durably, before anyone is told: terminals that
// never had it (pending, offline) are cancelled at once; those that had it answer with their
// own cancelled receipt and proof of what they played. It returns the broadcast so the caller
// can send the stop command to its targets. Cancelling twice is harmless: the first reason stays.
func (bk *Book) Cancel(ctx context.Context, id, reason string, at time.Time) (Broadcast, error) {
	bk.mu.Lock()
	e, ok := bk.open[id]
	if !ok {
		bk.mu.Unlock()
		if _, err := Load(ctx, bk.db, id); err != nil {
			return Broadcast{}, err
		}
		return Broadcast{}, fmt.Errorf("%w: %s", ErrClosed, id)
	}
	if e.state == StateCancelled {
		b := e.b
		bk.mu.Unlock()
		return b, nil
	}
	if e.counts[Offline] == 0 && e.state == StateFinished {
		// Every terminal played or failed it: nothing left to stop. (Offline ones could
		// still come back inside the window and have it redelivered: those are cancelled.)
		bk.mu.Unlock()
		return Broadcast{}, fmt.Errorf("%w: %s", ErrClosed, id)
	}
	bk.mu.Unlock()

	// Durable first: a crash right after the stop goes out must not bring the broadcast back.
	if _, err := bk.db.ExecContext(ctx, `UPDATE broadcasts SET state=?, cancelled_ms=?, cancel_reason=? WHERE id=?`,
		StateCancelled, ms(at), reason, id); err != nil {
		return Broadcast{}, fmt.Errorf("cancel broadcast %s: %w", id, err)
	}

	bk.mu.Lock()
	defer bk.mu.Unlock()
	if e.state == StateCancelled { // a concurrent cancel got here first
		return e.b, nil
	}
	e.state, e.b.CancelledAt, e.b.CancelReason = StateCancelled, at, reason
	for _, rc := range e.receipts {
		if rc.State == Pending || rc.State == Offline {
			bk.update(e, rc, Cancelled, NoReason, reason, at, false, nil)
		}
	}
	bk.settle(e, at)
	return e.b, nil
}

// ErrClosed is returned for a cancel of a broadcast every terminal has finished.
var ErrClosed = fmt.Errorf("broadcast already finished")
