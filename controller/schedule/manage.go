package schedule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrExists is an id already taken by another schedule.
	ErrExists = errors.New("schedule id already in use")
	// ErrFromFile refuses to delete a schedule that a file defines: the file would bring it back.
	ErrFromFile = errors.New("schedule is defined in a file")
)

// Create adds a schedule over the API. A one-off time must be ahead of now. An empty id gets
// one generated ("api-" and 8 hex digits).
func (r *Runner) Create(ctx context.Context, d Def) (Schedule, error) {
	if d.ID == "" {
		var b [4]byte
		rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
		d.ID = "api-" + hex.EncodeToString(b[:])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	s, err := r.checkAhead(d, now)
	if err != nil {
		return Schedule{}, err
	}
	s.Source = SourceAPI
	s.Since, s.Created, s.Updated = now.In(s.Location), now.In(s.Location), now.In(s.Location)
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return Schedule{}, err
	}
	defer tx.Rollback()
	if _, err := getSchedule(ctx, tx, s.ID); err == nil {
		return Schedule{}, fmt.Errorf("%w: %q", ErrExists, s.ID)
	} else if !errors.Is(err, ErrNotFound) {
		return Schedule{}, err
	}
	if err := putSchedule(ctx, tx, s, false); err != nil {
		return Schedule{}, err
	}
	if err := tx.Commit(); err != nil {
		return Schedule{}, fmt.Errorf("create schedule %s: %w", s.ID, err)
	}
	r.log.Info("schedule created", "schedule", s.ID, "cron", s.Cron, "at", s.At, "zone", s.Location, "announcement", s.Announcement)
	r.poke()
	return s, nil
}

// Update replaces the definition of schedule id, made over the API, with d (its id is id's):
// name, announcement, targets and time at once, or nothing when d is wrong. The schedule keeps
// its creation time, its pause and its slot log; a new timing starts the walk over slots from
// now (as Since says), so a slot of the old timing is never due and none is played twice. A
// schedule from a file is refused (ErrFromFile): its file is where it changes.
func (r *Runner) Update(ctx context.Context, id string, d Def) (Schedule, error) {
	d.ID = id
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	s, err := r.checkAhead(d, now)
	if err != nil {
		return Schedule{}, err
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return Schedule{}, err
	}
	defer tx.Rollback()
	old, err := getSchedule(ctx, tx, id)
	if err != nil {
		return Schedule{}, err
	}
	if old.Source == SourceFile {
		return Schedule{}, fmt.Errorf("%w: %q is in %s", ErrFromFile, id, old.File)
	}
	s.Source, s.Paused = SourceAPI, old.Paused
	s.Created, s.Since, s.Updated = old.Created.In(s.Location), now.In(s.Location), now.In(s.Location)
	if s.Cron == old.Cron && s.At.Equal(old.At) && s.Location.String() == old.Location.String() {
		s.Since = old.Since.In(s.Location) // same timing: its slots stay due
	}
	if err := putSchedule(ctx, tx, s, false); err != nil {
		return Schedule{}, err
	}
	if err := tx.Commit(); err != nil {
		return Schedule{}, fmt.Errorf("update schedule %s: %w", id, err)
	}
	r.log.Info("schedule updated", "schedule", id, "cron", s.Cron, "at", s.At, "zone", s.Location, "announcement", s.Announcement)
	r.poke()
	return s, nil
}

// checkAhead checks d as a schedule from now on: a one-off time must be ahead of now.
func (r *Runner) checkAhead(d Def, now time.Time) (Schedule, error) {
	s, err := d.check(r.zone, now)
	if err != nil {
		return Schedule{}, err
	}
	if !s.At.IsZero() && !s.At.After(now) {
		return Schedule{}, pastAt(s, now)
	}
	return s, nil
}

// Get is one schedule.
func (r *Runner) Get(ctx context.Context, id string) (Schedule, error) {
	return getSchedule(ctx, r.db, id)
}

// List is every schedule, by id.
func (r *Runner) List(ctx context.Context) ([]Schedule, error) { return loadSchedules(ctx, r.db, "") }

// Pause stops a schedule's slots from playing: each is logged skipped (paused) when due. It
// holds across reloads unless the file's own paused flag changes.
func (r *Runner) Pause(ctx context.Context, id string) (Schedule, error) {
	return r.setPaused(ctx, id, true)
}

// Resume lets a paused schedule's next slots play. Slots skipped while paused stay skipped.
func (r *Runner) Resume(ctx context.Context, id string) (Schedule, error) {
	return r.setPaused(ctx, id, false)
}

func (r *Runner) setPaused(ctx context.Context, id string, paused bool) (Schedule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := r.db.ExecContext(ctx, `UPDATE schedules SET paused=?, updated_ms=? WHERE id=?`, paused, r.now().UnixMilli(), id)
	if err != nil {
		return Schedule{}, fmt.Errorf("pause schedule %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Schedule{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	r.log.Info("schedule paused", "schedule", id, "paused", paused)
	r.poke()
	return getSchedule(ctx, r.db, id)
}

// Delete removes a schedule created over the API. Its slot log stays, as the record of what
// played; a schedule created again under the same id never replays a slot in it.
func (r *Runner) Delete(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := getSchedule(ctx, r.db, id)
	if err != nil {
		return err
	}
	if s.Source == SourceFile {
		return fmt.Errorf("%w: %q is in %s", ErrFromFile, id, s.File)
	}
	if _, err := r.db.ExecContext(ctx, `DELETE FROM schedules WHERE id=?`, id); err != nil {
		return fmt.Errorf("delete schedule %s: %w", id, err)
	}
	r.log.Info("schedule deleted", "schedule", id)
	return nil
}

// Slots is a schedule's slot log, newest first, at most limit entries. The log outlives the
// schedule: a deleted schedule's slots are shown in the default zone.
func (r *Runner) Slots(ctx context.Context, id string, limit int) ([]SlotRecord, error) {
	loc, _ := loadZone(r.zone) // checked in New
	s, err := getSchedule(ctx, r.db, id)
	if err == nil {
		loc = s.Location
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	slots, qerr := querySlots(ctx, r.db, loc, `WHERE schedule_id=? ORDER BY due_ms DESC LIMIT ?`, id, limit)
	if qerr != nil {
		return nil, qerr
	}
	if err != nil && len(slots) == 0 {
		return nil, err
	}
	return slots, nil
}

// Slot is one slot's record, for a caller that knows the due time (a benchmark reading how
// late a slot started: Fired - Due).
func (r *Runner) Slot(ctx context.Context, id string, due time.Time) (SlotRecord, error) {
	slots, err := querySlots(ctx, r.db, due.Location(), `WHERE schedule_id=? AND due_ms=?`, id, due.UnixMilli())
	if err != nil {
		return SlotRecord{}, err
	}
	if len(slots) == 0 {
		return SlotRecord{}, fmt.Errorf("%w: no slot of %q due %s", ErrNotFound, id, due.Format(time.RFC3339Nano))
	}
	return slots[0], nil
}
