package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The slot log. A slot is recorded before anything happens to it, so its key (schedule id,
// due ms) is the one place that decides whether it was dealt with:
//
//	(due) --claim--> claimed --Fire ok--------> fired (broadcast id)
//	  |                  |----Fire Skip(..)---> skipped (reason)
//	  |                  |----Fire error------> failed (error)
//	  |                  `----crash, restart--> Fire again with the same broadcast id (within
//	  |                                         grace) or failed (interrupted)
//	  |----past grace / superseded-----------> missed (reason)
//	  `----schedule paused-------------------> skipped (paused)
const (
	StateClaimed = "claimed"
	StateFired   = "fired"
	StateMissed  = "missed"
	StateSkipped = "skipped"
	StateFailed  = "failed"
)

// SlotRecord is one slot as the log keeps it. Times are in the schedule's zone.
type SlotRecord struct {
	ScheduleID  string
	Due         time.Time
	State       string
	BroadcastID string
	Reason      string
	Attempts    int       // calls of Fire: 2 only after a crash between claim and result
	Claimed     time.Time // zero for slots never claimed (missed, skipped while paused)
	Fired       time.Time // when Fire was last called: Fired - Due is how late the slot started
	Done        time.Time // when the final state was recorded
}

// lastDue is the newest recorded slot of a schedule.
func lastDue(ctx context.Context, q querier, id string) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(due_ms) FROM schedule_slots WHERE schedule_id=?`, id).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("last slot of %s: %w", id, err)
	}
	return time.UnixMilli(v.Int64), v.Valid, nil
}

// claim records a slot as claimed, about to fire. False when the slot is already recorded:
// whoever recorded it dealt with it, and it must not fire again.
func claim(ctx context.Context, q querier, id string, due, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO schedule_slots (schedule_id, due_ms, state, broadcast_id, attempts, claimed_ms, fire_ms)
		VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`,
		id, due.UnixMilli(), StateClaimed, BroadcastID(id, due), now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("claim slot %s@%d: %w", id, due.UnixMilli(), err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// settle records a slot that is not fired (missed, or skipped while paused) in one step.
func settle(ctx context.Context, q querier, id string, due time.Time, state, reason string, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO schedule_slots (schedule_id, due_ms, state, broadcast_id, reason, done_ms)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		id, due.UnixMilli(), state, BroadcastID(id, due), reason, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record slot %s@%d %s: %w", id, due.UnixMilli(), state, err)
	}
	return nil
}

// refire counts another call of Fire for a claimed slot recovered after a crash.
func refire(ctx context.Context, q querier, id string, due, now time.Time) (int, error) {
	var attempts int
	err := q.QueryRowContext(ctx, `UPDATE schedule_slots SET attempts=attempts+1, fire_ms=?
		WHERE schedule_id=? AND due_ms=? AND state=? RETURNING attempts`,
		now.UnixMilli(), id, due.UnixMilli(), StateClaimed).Scan(&attempts)
	if err != nil {
		return 0, fmt.Errorf("refire slot %s@%d: %w", id, due.UnixMilli(), err)
	}
	return attempts, nil
}

// finish records the outcome of a claimed slot.
func finish(ctx context.Context, q querier, id string, due time.Time, state, broadcastID, reason string, now time.Time) error {
	res, err := q.ExecContext(ctx, `UPDATE schedule_slots SET state=?, broadcast_id=?, reason=?, done_ms=?
		WHERE schedule_id=? AND due_ms=? AND state=?`,
		state, broadcastID, reason, now.UnixMilli(), id, due.UnixMilli(), StateClaimed)
	if err != nil {
		return fmt.Errorf("finish slot %s@%d %s: %w", id, due.UnixMilli(), state, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("finish slot %s@%d %s: %w", id, due.UnixMilli(), state, errNotClaimed)
	}
	return nil
}

var errNotClaimed = errors.New("slot is not claimed")

const slotCols = `schedule_id, due_ms, state, broadcast_id, reason, attempts, claimed_ms, fire_ms, done_ms`

// querySlots reads slot records; loc shows their times.
func querySlots(ctx context.Context, q querier, loc *time.Location, where string, args ...any) ([]SlotRecord, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+slotCols+` FROM schedule_slots `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read slots: %w", err)
	}
	defer rows.Close()
	var out []SlotRecord
	for rows.Next() {
		var r SlotRecord
		var due, claimed, fired, done int64
		if err := rows.Scan(&r.ScheduleID, &due, &r.State, &r.BroadcastID, &r.Reason, &r.Attempts, &claimed, &fired, &done); err != nil {
			return nil, fmt.Errorf("read slots: %w", err)
		}
		r.Due = time.UnixMilli(due).In(loc)
		r.Claimed, r.Fired, r.Done = ms(claimed, loc), ms(fired, loc), ms(done, loc)
		out = append(out, r)
	}
	return out, rows.Err()
}
