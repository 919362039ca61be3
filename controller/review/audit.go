package review

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// AuditEntry is one action in the audit log: who did what to which object, when, and the
// object before and after.
type AuditEntry struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Object string          `json:"object"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// audit writes an entry in the caller's transaction; before or after may be nil.
func (s *Service) audit(ctx context.Context, q querier, actor, action, object string, before, after any) error {
	enc := func(v any) (string, error) {
		if v == nil {
			return "", nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, object, err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, object, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO audit_log (at_ms, actor, action, object, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
		s.now().UnixMilli(), actor, action, object, b, a); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, object, err)
	}
	return nil
}

// Audit lists entries newest first, for one object ("announcement:12", "user:li") or all.
func (s *Service) Audit(ctx context.Context, object string, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT id, at_ms, actor, action, object, before, after FROM audit_log`
	args := []any{}
	if object != "" {
		q += ` WHERE object = ?`
		args = append(args, object)
	}
	return s.auditQuery(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
}

// History is an announcement's audit entries, oldest first.
func (s *Service) History(ctx context.Context, id int64) ([]AuditEntry, error) {
	return s.auditQuery(ctx, `SELECT id, at_ms, actor, action, object, before, after FROM audit_log
		WHERE object = ? ORDER BY id`, announcementObject(id))
}

func announcementObject(id int64) string { return "announcement:" + strconv.FormatInt(id, 10) }

func (s *Service) auditQuery(ctx context.Context, q string, args ...any) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		var before, after string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Object, &before, &after); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At = time.UnixMilli(at)
		if before != "" {
			e.Before = json.RawMessage(before)
		}
		if after != "" {
			e.After = json.RawMessage(after)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
