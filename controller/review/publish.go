package review

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// The controller's side of an approved announcement: it asks Approved before it speaks, marks
// it scheduled when a slot takes it, and done once a broadcast has carried it.

// Approved returns an announcement that may go out now: approved (or scheduled) and within its
// validity window. The errors wrap ErrNotApproved, ErrOutsideValidity or ErrNotFound.
func (s *Service) Approved(ctx context.Context, id int64) (Announcement, error) {
	a, err := load(ctx, s.db, id)
	if err != nil {
		return a, err
	}
	if a.State != Approved && a.State != Scheduled {
		return a, conflict("公告未经审核通过，不能播出", fmt.Errorf("announcement %d is %s: %w", id, a.State, ErrNotApproved))
	}
	if now := s.now(); now.Before(a.ValidFrom) || !now.Before(a.ValidUntil) {
		return a, conflict("公告不在有效期内，不能播出", fmt.Errorf("announcement %d valid %s to %s: %w",
			id, a.ValidFrom.Format("2006-01-02 15:04"), a.ValidUntil.Format("2006-01-02 15:04"), ErrOutsideValidity))
	}
	return a, nil
}

// MarkScheduled records that a schedule slot has taken an approved announcement. Marking a
// scheduled one again does nothing.
func (s *Service) MarkScheduled(ctx context.Context, id int64, actor string) error {
	return s.change(ctx, "schedule announcement", func(tx *sql.Tx) error {
		a, err := load(ctx, tx, id)
		if err != nil || a.State == Scheduled {
			return err
		}
		if a.State != Approved {
			return conflict("公告未经审核通过，不能排期", fmt.Errorf("announcement %d is %s: %w", id, a.State, ErrNotApproved))
		}
		before, err := snapshot(a)
		if err != nil {
			return err
		}
		a.State, a.ScheduledAt = Scheduled, s.clock()
		if err := save(ctx, tx, &a); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, "schedule", id, before, new(Announcement))
	})
}

// MarkDone records that broadcastID carried the announcement and closes it. Repeating it with
// the same broadcast does nothing.
func (s *Service) MarkDone(ctx context.Context, id int64, broadcastID string) error {
	return s.publication(ctx, id, broadcastID, true)
}

// RecordBroadcast records one more broadcast of an approved or scheduled announcement (a slot
// that repeats) without closing it.
func (s *Service) RecordBroadcast(ctx context.Context, id int64, broadcastID string) error {
	return s.publication(ctx, id, broadcastID, false)
}

func (s *Service) publication(ctx context.Context, id int64, broadcastID string, done bool) error {
	return s.change(ctx, "record broadcast of announcement", func(tx *sql.Tx) error {
		a, err := load(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.State == Done && (broadcastID == "" || slices.Contains(a.Broadcasts, broadcastID)) {
			return nil
		}
		if a.State != Approved && a.State != Scheduled {
			return conflict("公告未经审核通过或已播出", fmt.Errorf("announcement %d is %s: %w", id, a.State, ErrNotApproved))
		}
		before, err := snapshot(a)
		if err != nil {
			return err
		}
		now := s.clock()
		if broadcastID != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO announcement_broadcasts (announcement_id, broadcast_id, at_ms)
				VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, id, broadcastID, now.UnixMilli()); err != nil {
				return fmt.Errorf("record broadcast %s of announcement %d: %w", broadcastID, id, err)
			}
		}
		action := "broadcast"
		if done {
			action, a.State, a.DoneAt = "done", Done, now
			if err := save(ctx, tx, &a); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "system", action, id, before, new(Announcement))
	})
}
