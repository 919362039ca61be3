package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ReloadResult says what a reload of the schedule files changed, by schedule id.
type ReloadResult struct {
	Files                              []string
	Added, Changed, Removed, Unchanged []string
}

// Reload reads every schedule file and applies them as one set, or, if any file is bad,
// applies nothing and returns every problem found (each a *FileError, joined). Schedules a
// file no longer names are removed (their slot logs stay); those created over the API are
// untouched. A schedule whose cron, at or zone changed starts its walk afresh at now, so the
// old timing leaves no missed slots behind. Its paused flag follows the file only when the
// file's own paused value changed: a pause given over the API survives unrelated reloads.
func (r *Runner) Reload(ctx context.Context) (ReloadResult, error) {
	res, err := r.reload(ctx)
	if err != nil {
		r.loadErr.Store(&err)
		return res, err
	}
	r.loadErr.Store(nil)
	r.log.Info("schedule files applied", "dir", r.dir, "files", len(res.Files), "added", res.Added,
		"changed", res.Changed, "removed", res.Removed, "unchanged", len(res.Unchanged))
	r.poke()
	return res, nil
}

func (r *Runner) reload(ctx context.Context) (ReloadResult, error) {
	var res ReloadResult
	defs, files, err := readFiles(r.dir)
	res.Files = files
	if err != nil {
		return res, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	stored, err := loadSchedules(ctx, tx, "")
	if err != nil {
		return res, err
	}
	old := map[string]Schedule{}
	for _, s := range stored {
		old[s.ID] = s
	}
	filePaused, err := loadFilePaused(ctx, tx)
	if err != nil {
		return res, err
	}

	var errs []error
	var next []filed
	seen := map[string]string{} // id -> file
	for _, fd := range defs {
		s, err := r.fromFile(fd, old, filePaused, seen, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		next = append(next, s)
	}
	if err := errors.Join(errs...); err != nil {
		return res, err // nothing written: the transaction rolls back
	}

	for _, s := range next {
		prev, ok := old[s.ID]
		switch {
		case !ok:
			res.Added = append(res.Added, s.ID)
		case same(prev, s.Schedule) && filePaused[s.ID] == s.filePaused:
			res.Unchanged = append(res.Unchanged, s.ID)
			continue
		default:
			res.Changed = append(res.Changed, s.ID)
		}
		if err := putSchedule(ctx, tx, s.Schedule, s.filePaused); err != nil {
			return res, err
		}
	}
	for _, s := range stored {
		if _, ok := seen[s.ID]; !ok && s.Source == SourceFile {
			if _, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE id=?`, s.ID); err != nil {
				return res, fmt.Errorf("remove schedule %s: %w", s.ID, err)
			}
			res.Removed = append(res.Removed, s.ID)
		}
	}
	return res, tx.Commit()
}

// filed is a schedule from a file, with the paused value the file itself gave.
type filed struct {
	Schedule
	filePaused bool
}

// fromFile checks one schedule of a file against the set being built and what is stored.
func (r *Runner) fromFile(fd fileDef, old map[string]Schedule, filePaused map[string]bool, seen map[string]string, now time.Time) (filed, error) {
	fail := func(field, msg string, err error) (filed, error) {
		return filed{}, &FileError{File: fd.file, Line: fd.line(field), Field: field, Message: msg, Err: err}
	}
	s, err := fd.Def.check(r.zone, now)
	var in *InputError
	if errors.As(err, &in) {
		return fail(in.Field, in.Message, fmt.Errorf("schedule %q: %w", fd.ID, in.Err))
	} else if err != nil {
		return fail("", "日程有误", err)
	}
	if other, dup := seen[s.ID]; dup {
		return fail("id", "日程编号重复："+s.ID, fmt.Errorf("schedule %q is also defined in %s", s.ID, other))
	}
	seen[s.ID] = fd.file
	prev, known := old[s.ID]
	if known && prev.Source != SourceFile {
		return fail("id", "日程编号已被通过接口创建的日程使用："+s.ID, fmt.Errorf("schedule %q: %w (created over the API)", s.ID, ErrExists))
	}
	retimed := !known || !sameTiming(prev, s)
	if !s.At.IsZero() && retimed && !s.At.After(now) {
		var in *InputError
		errors.As(pastAt(s, now), &in)
		return fail("at", in.Message, fmt.Errorf("schedule %q: %w", s.ID, in.Err))
	}
	s.Source, s.File = SourceFile, fd.file
	s.Since, s.Created, s.Updated = now.In(s.Location), now.In(s.Location), now.In(s.Location)
	if known {
		s.Created, s.Updated = prev.Created, prev.Updated
		if !retimed {
			s.Since = prev.Since
		}
		if fd.Paused == filePaused[s.ID] {
			s.Paused = prev.Paused // the file did not change its mind: keep a pause given over the API
		}
		if !same(prev, s) {
			s.Updated = now.In(s.Location)
		}
	}
	return filed{Schedule: s, filePaused: fd.Paused}, nil
}

// same reports whether a stored schedule and a new version of it say the same thing.
func same(a, b Schedule) bool {
	return sameTiming(a, b) && a.Name == b.Name && a.Announcement == b.Announcement &&
		slices.Equal(a.Targets, b.Targets) && a.Grace == b.Grace && a.Paused == b.Paused &&
		a.Source == b.Source && a.File == b.File
}

func loadFilePaused(ctx context.Context, q querier) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, file_paused FROM schedules WHERE source=?`, SourceFile)
	if err != nil {
		return nil, fmt.Errorf("load schedules: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		var p bool
		if err := rows.Scan(&id, &p); err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, rows.Err()
}
