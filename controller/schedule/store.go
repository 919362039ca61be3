package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"dalaba/controller/store"
	"dalaba/proto/wire"
)

// migrations are the schedule component's own, applied with store.ApplyComponent.
var migrations = []string{
	`CREATE TABLE schedules (
		id            TEXT PRIMARY KEY,
		name          TEXT NOT NULL,
		announcement  TEXT NOT NULL,            -- announcement id or key
		targets       TEXT NOT NULL DEFAULT '', -- comma-separated addresses; empty: the announcement's
		cron          TEXT NOT NULL DEFAULT '', -- recurring, or
		at_ms         INTEGER NOT NULL DEFAULT 0, -- one-off
		timezone      TEXT NOT NULL,
		grace_ms      INTEGER NOT NULL,
		paused        INTEGER NOT NULL DEFAULT 0,
		file_paused   INTEGER NOT NULL DEFAULT 0, -- what the file said when last applied
		source        TEXT NOT NULL,            -- file or api
		file          TEXT NOT NULL DEFAULT '',
		since_ms      INTEGER NOT NULL,         -- slots after this are due (creation or timing change)
		created_ms    INTEGER NOT NULL,
		updated_ms    INTEGER NOT NULL
	);
	CREATE TABLE schedule_slots (
		schedule_id   TEXT NOT NULL,
		due_ms        INTEGER NOT NULL,
		state         TEXT NOT NULL,            -- claimed, fired, missed, skipped, failed
		broadcast_id  TEXT NOT NULL,            -- deterministic from (schedule_id, due_ms)
		reason        TEXT NOT NULL DEFAULT '', -- why skipped, missed or failed
		attempts      INTEGER NOT NULL DEFAULT 0, -- calls of Fire
		claimed_ms    INTEGER NOT NULL DEFAULT 0,
		fire_ms       INTEGER NOT NULL DEFAULT 0, -- when Fire was last called
		done_ms       INTEGER NOT NULL DEFAULT 0, -- when the final state was recorded
		PRIMARY KEY (schedule_id, due_ms)
	);`,
}

// querier is a *store.DB or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrNotFound is a schedule id that is not known.
var ErrNotFound = errors.New("schedule not found")

const scheduleCols = `id, name, announcement, targets, cron, at_ms, timezone, grace_ms, paused, source, file, since_ms, created_ms, updated_ms`

func loadSchedules(ctx context.Context, q querier, where string, args ...any) ([]Schedule, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+scheduleCols+` FROM schedules `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load schedules: %w", err)
	}
	defer rows.Close()
	var out []Schedule
	for rows.Next() {
		var s Schedule
		var targets, zone string
		var atMs, graceMs, sinceMs, createdMs, updatedMs int64
		if err := rows.Scan(&s.ID, &s.Name, &s.Announcement, &targets, &s.Cron, &atMs, &zone, &graceMs,
			&s.Paused, &s.Source, &s.File, &sinceMs, &createdMs, &updatedMs); err != nil {
			return nil, fmt.Errorf("load schedules: %w", err)
		}
		if err := s.restore(targets, zone, atMs); err != nil {
			return nil, fmt.Errorf("load schedule %s: %w", s.ID, err)
		}
		s.Grace = time.Duration(graceMs) * time.Millisecond
		s.Since, s.Created, s.Updated = ms(sinceMs, s.Location), ms(createdMs, s.Location), ms(updatedMs, s.Location)
		out = append(out, s)
	}
	return out, rows.Err()
}

// restore rebuilds what the row keeps as text: targets, zone and timing.
func (s *Schedule) restore(targets, zone string, atMs int64) error {
	loc, err := loadZone(zone)
	if err != nil {
		return err
	}
	s.Location = loc
	if targets != "" {
		if s.Targets, err = wire.ParseAddresses(targets); err != nil {
			return err
		}
	}
	if s.Cron != "" {
		// Any reference time will do: the expression was checked when it was stored.
		ct, err := parseCron(s.Cron, loc, time.Date(2000, 1, 1, 0, 0, 0, 0, loc))
		s.timing = ct
		return err
	}
	s.At = ms(atMs, loc)
	s.timing = oneOff{s.At}
	return nil
}

func getSchedule(ctx context.Context, q querier, id string) (Schedule, error) {
	ss, err := loadSchedules(ctx, q, `WHERE id=?`, id)
	if err != nil {
		return Schedule{}, err
	}
	if len(ss) == 0 {
		return Schedule{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return ss[0], nil
}

// putSchedule inserts or replaces a schedule; filePaused is what its file said, for reload.
func putSchedule(ctx context.Context, q querier, s Schedule, filePaused bool) error {
	var atMs int64
	if !s.At.IsZero() {
		atMs = s.At.UnixMilli()
	}
	_, err := q.ExecContext(ctx, `INSERT OR REPLACE INTO schedules (`+scheduleCols+`, file_paused)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Name, s.Announcement, joinAddrs(s.Targets), s.Cron, atMs, s.Location.String(), s.Grace.Milliseconds(),
		s.Paused, s.Source, s.File, s.Since.UnixMilli(), s.Created.UnixMilli(), s.Updated.UnixMilli(), filePaused)
	if err != nil {
		return fmt.Errorf("store schedule %s: %w", s.ID, err)
	}
	return nil
}

func joinAddrs(as []wire.Address) string {
	ss := make([]string, len(as))
	for i, a := range as {
		ss[i] = a.String()
	}
	return strings.Join(ss, ",")
}

func ms(v int64, loc *time.Location) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).In(loc)
}

// ensure applies the component's migrations.
func ensure(ctx context.Context, db *store.DB) error {
	return db.ApplyComponent(ctx, "schedule", migrations)
}
