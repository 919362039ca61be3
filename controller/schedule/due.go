package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// runDue deals with every slot due by now and returns the earliest slot still ahead (zero when
// none is). Errors are logged and retried at the next look: the slot log makes that safe.
func (r *Runner) runDue(ctx context.Context) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	ss, err := loadSchedules(ctx, r.db, "")
	if err != nil {
		r.log.Error("schedules: walk", "err", err)
		return r.now().Add(5 * time.Second)
	}
	var earliest time.Time
	for _, s := range ss {
		now := r.now() // read per schedule: a long walk must not make the next one's claim time stale
		next, err := r.runSchedule(ctx, s, now)
		if err != nil {
			r.log.Error("schedule walk failed; retrying", "schedule", s.ID, "err", err)
			next = now.Add(5 * time.Second)
		}
		if !next.IsZero() && (earliest.IsZero() || next.Before(earliest)) {
			earliest = next
		}
	}
	return earliest
}

// runSchedule records the schedule's slots due by now (see the package policy) and returns its
// next slot.
func (r *Runner) runSchedule(ctx context.Context, s Schedule, now time.Time) (time.Time, error) {
	from := s.Since
	if last, ok, err := lastDue(ctx, r.db, s.ID); err != nil {
		return time.Time{}, err
	} else if ok && last.After(from) {
		from = last.In(s.Location)
	}
	var due []time.Time
	t := s.Next(from)
	for ; !t.IsZero() && !t.After(now); t = s.Next(t) {
		due = append(due, t)
	}
	if len(due) == 0 {
		return t, nil
	}
	newest := due[len(due)-1]
	late := now.Sub(newest)
	if err := r.recordMissed(ctx, s, due[:len(due)-1], newest, now); err != nil {
		return time.Time{}, err
	}
	switch {
	case s.Paused:
		r.log.Info("schedule slot skipped: paused", "schedule", s.ID, "due", newest)
		return t, settle(ctx, r.db, s.ID, newest, StateSkipped, "paused", now)
	case late > s.Grace:
		r.log.Warn("schedule slot missed", "schedule", s.ID, "due", newest, "late", late, "grace", s.Grace)
		return t, settle(ctx, r.db, s.ID, newest, StateMissed, fmt.Sprintf("late by %v, beyond the grace window of %v", late.Round(time.Second), s.Grace), now)
	}
	ok, err := claim(ctx, r.db, s.ID, newest, now)
	if err != nil || !ok {
		return t, err
	}
	r.fireSlot(s, newest, 1, late)
	return t, nil
}

// recordMissed records, in one transaction, the due slots that will not fire because a newer
// one is due: each missed, with why.
func (r *Runner) recordMissed(ctx context.Context, s Schedule, older []time.Time, newest, now time.Time) error {
	if len(older) == 0 {
		return nil
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, d := range older {
		reason := fmt.Sprintf("late by %v, beyond the grace window of %v", now.Sub(d).Round(time.Second), s.Grace)
		if s.Paused {
			reason = "paused"
		} else if now.Sub(d) <= s.Grace {
			reason = "superseded by the slot due " + newest.Format(time.RFC3339)
		}
		state := StateMissed
		if s.Paused {
			state = StateSkipped
		}
		if err := settle(ctx, tx, s.ID, d, state, reason, now); err != nil {
			return err
		}
	}
	r.log.Warn("schedule slots not played", "schedule", s.ID, "slots", len(older),
		"first", older[0], "last", older[len(older)-1], "paused", s.Paused)
	return tx.Commit()
}

// fireSlot calls Fire for a claimed slot on its own goroutine, so a slow Fire never delays
// another schedule's slot, and records the result.
func (r *Runner) fireSlot(s Schedule, due time.Time, attempt int, late time.Duration) {
	slot := Slot{ScheduleID: s.ID, ScheduleName: s.Name, Announcement: s.Announcement, Targets: s.Targets,
		Due: due.In(s.Location), BroadcastID: BroadcastID(s.ID, due), Attempt: attempt}
	fire := *r.fire.Load()
	r.inflight.Add(1)
	go func() {
		defer r.inflight.Done()
		log := r.log.With("schedule", s.ID, "due", slot.Due, "broadcast", slot.BroadcastID, "attempt", attempt)
		log.Info("schedule slot firing", "late", late)
		ctx, cancel := context.WithTimeout(r.fireCtx, r.fireLimit)
		id, err := fire(ctx, slot)
		cancel()
		if err != nil && r.fireCtx.Err() != nil {
			log.Warn("schedule slot interrupted by shutdown; left claimed for the next start", "err", err)
			return
		}
		state, reason := StateFired, ""
		if skip, ok := isSkip(err); ok {
			state, reason = StateSkipped, skip
			log.Info("schedule slot skipped", "reason", skip)
		} else if err != nil {
			state, reason = StateFailed, err.Error()
			log.Error("schedule slot failed", "err", err)
		} else {
			log.Info("schedule slot fired", "broadcast_sent", id)
		}
		if id == "" {
			id = slot.BroadcastID
		}
		// Recorded even while stopping: Stop waits for this before the store closes.
		if err := finish(context.Background(), r.db, s.ID, due, state, id, reason, r.now()); err != nil {
			log.Error("schedule slot result not recorded", "state", state, "err", err)
		}
	}()
}

// recoverClaimed deals with slots a crash left claimed: the process that claimed them is gone.
func (r *Runner) recoverClaimed(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	slots, err := querySlots(ctx, r.db, time.UTC, `WHERE state=?`, StateClaimed)
	if err != nil {
		return err
	}
	for _, sl := range slots {
		s, err := getSchedule(ctx, r.db, sl.ScheduleID)
		late := now.Sub(sl.Due)
		log := r.log.With("schedule", sl.ScheduleID, "due", sl.Due, "broadcast", sl.BroadcastID)
		switch {
		case errors.Is(err, ErrNotFound):
			err = finish(ctx, r.db, sl.ScheduleID, sl.Due, StateFailed, sl.BroadcastID, "interrupted, and the schedule was deleted since", now)
		case err != nil:
		case late > s.Grace:
			log.Warn("interrupted schedule slot past grace: not fired again", "late", late)
			err = finish(ctx, r.db, s.ID, sl.Due, StateFailed, sl.BroadcastID,
				fmt.Sprintf("interrupted: the controller stopped after claiming the slot and restarted %v late, past the grace window; broadcast %s may have gone out", late.Round(time.Second), sl.BroadcastID), now)
		case s.Paused:
			err = finish(ctx, r.db, s.ID, sl.Due, StateSkipped, sl.BroadcastID, "paused", now)
		default:
			var attempt int
			if attempt, err = refire(ctx, r.db, s.ID, sl.Due, now); err == nil {
				log.Warn("interrupted schedule slot: firing again with the same broadcast id", "late", late)
				r.fireSlot(s, sl.Due, attempt, late)
			}
		}
		if err != nil {
			return fmt.Errorf("recover slot %s@%d: %w", sl.ScheduleID, sl.Due.UnixMilli(), err)
		}
	}
	return nil
}
