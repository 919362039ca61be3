package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

const columns = `id, title, category, domain, body_text, program_id, voice, targets, villages, valid_from_ms,
	valid_until_ms, author, revision, state, flags, reviewer, review_comment, created_ms, updated_ms,
	submitted_ms, decided_ms, scheduled_ms, done_ms, ann_key`

type scanner interface{ Scan(dest ...any) error }

func scanAnnouncement(sc scanner) (Announcement, error) {
	var a Announcement
	var villages, flags string
	var from, until, created, updated, submitted, decided, scheduled, done int64
	err := sc.Scan(&a.ID, &a.Title, &a.Category, &a.Domain, &a.Text, &a.ProgramID, &a.Voice, &a.Targets, &villages,
		&from, &until, &a.Author, &a.Revision, &a.State, &flags, &a.Reviewer, &a.ReviewComment, &created, &updated,
		&submitted, &decided, &scheduled, &done, &a.Key)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(villages), &a.Villages); err != nil {
		return a, fmt.Errorf("announcement %d villages: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(flags), &a.Flags); err != nil {
		return a, fmt.Errorf("announcement %d flags: %w", a.ID, err)
	}
	a.ValidFrom, a.ValidUntil, a.CreatedAt, a.UpdatedAt = msTime(from), msTime(until), msTime(created), msTime(updated)
	a.SubmittedAt, a.DecidedAt, a.ScheduledAt, a.DoneAt = msTime(submitted), msTime(decided), msTime(scheduled), msTime(done)
	a.names()
	return a, nil
}

// load reads one announcement with the broadcasts that carried it.
func load(ctx context.Context, q querier, id int64) (Announcement, error) {
	a, err := scanAnnouncement(q.QueryRowContext(ctx, `SELECT `+columns+` FROM announcements WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound(id)
	}
	if err != nil {
		return a, fmt.Errorf("load announcement %d: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT broadcast_id FROM announcement_broadcasts WHERE announcement_id=? ORDER BY at_ms`, id)
	if err != nil {
		return a, fmt.Errorf("load announcement %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return a, fmt.Errorf("load announcement %d: %w", id, err)
		}
		a.Broadcasts = append(a.Broadcasts, b)
	}
	return a, rows.Err()
}

// save writes every field of a, inserting it when it has no id yet.
func save(ctx context.Context, q querier, a *Announcement) error {
	villages, err := json.Marshal(a.Villages)
	if err != nil {
		return err
	}
	if a.Flags == nil {
		a.Flags = []Flag{}
	}
	flags, err := json.Marshal(a.Flags)
	if err != nil {
		return err
	}
	args := []any{a.Title, a.Category, a.Domain, a.Text, a.ProgramID, a.Voice, a.Targets, string(villages),
		timeMs(a.ValidFrom), timeMs(a.ValidUntil), a.Author, a.Revision, a.State, string(flags), a.Reviewer,
		a.ReviewComment, timeMs(a.CreatedAt), timeMs(a.UpdatedAt), timeMs(a.SubmittedAt), timeMs(a.DecidedAt),
		timeMs(a.ScheduledAt), timeMs(a.DoneAt), a.Key}
	a.names()
	if a.ID == 0 {
		res, err := q.ExecContext(ctx, `INSERT INTO announcements (`+columns[len("id, "):]+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		if err != nil {
			return keyTaken(a.Key, fmt.Errorf("insert announcement: %w", err))
		}
		a.ID, err = res.LastInsertId()
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE announcements SET title=?, category=?, domain=?, body_text=?, program_id=?,
		voice=?, targets=?, villages=?, valid_from_ms=?, valid_until_ms=?, author=?, revision=?, state=?, flags=?,
		reviewer=?, review_comment=?, created_ms=?, updated_ms=?, submitted_ms=?, decided_ms=?, scheduled_ms=?, done_ms=?,
		ann_key=? WHERE id=?`, append(args, a.ID)...)
	if err != nil {
		return keyTaken(a.Key, fmt.Errorf("update announcement %d: %w", a.ID, err))
	}
	return nil
}

// Get reads one announcement.
func (s *Service) Get(ctx context.Context, id int64) (Announcement, error) {
	return load(ctx, s.db, id)
}

// List lists announcements newest first, in one state or all.
func (s *Service) List(ctx context.Context, state State, limit int) ([]Announcement, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q, args := `SELECT `+columns+` FROM announcements`, []any{}
	if state != "" {
		q += ` WHERE state=?`
		args = append(args, state)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list announcements: %w", err)
	}
	defer rows.Close()
	out := []Announcement{}
	for rows.Next() {
		a, err := scanAnnouncement(rows)
		if err != nil {
			return nil, fmt.Errorf("list announcements: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
