package review

import (
	"context"
	"fmt"
	"time"
)

// PublicAnnouncement is what the public archive (公开栏) shows villagers: what was announced,
// where and when. It carries nothing about staff or the review.
type PublicAnnouncement struct {
	ID           int64       `json:"id"`
	Title        string      `json:"title"`
	Category     Category    `json:"category"`
	CategoryName string      `json:"category_name"`
	Domain       string      `json:"domain"`
	DomainName   string      `json:"domain_name"`
	Text         string      `json:"text,omitempty"`
	Villages     []string    `json:"villages"`
	State        State       `json:"state"` // scheduled or done
	StateName    string      `json:"state_name"`
	ValidFrom    time.Time   `json:"valid_from"`
	ValidUntil   time.Time   `json:"valid_until"`
	ScheduledAt  time.Time   `json:"scheduled_at,omitzero"`
	PublishedAt  []time.Time `json:"published_at"` // each broadcast that carried it, oldest first
}

// Public lists scheduled and broadcast announcements, the most recently published first.
func (s *Service) Public(ctx context.Context, limit int) ([]PublicAnnouncement, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM announcements a WHERE state IN ('scheduled', 'done')
		ORDER BY max(done_ms, scheduled_ms, COALESCE((SELECT max(at_ms) FROM announcement_broadcasts b
			WHERE b.announcement_id = a.id), 0)) DESC, id DESC
		LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("public announcements: %w", err)
	}
	defer rows.Close()
	out := []PublicAnnouncement{}
	index := map[int64]int{}
	for rows.Next() {
		a, err := scanAnnouncement(rows)
		if err != nil {
			return nil, fmt.Errorf("public announcements: %w", err)
		}
		index[a.ID] = len(out)
		out = append(out, PublicAnnouncement{ID: a.ID, Title: a.Title, Category: a.Category, CategoryName: a.CategoryName,
			Domain: a.Domain, DomainName: a.DomainName, Text: a.Text, Villages: a.Villages, State: a.State,
			StateName: a.StateName, ValidFrom: a.ValidFrom, ValidUntil: a.ValidUntil, ScheduledAt: a.ScheduledAt,
			PublishedAt: []time.Time{}})
		if a.State == Done && !a.DoneAt.IsZero() {
			out[len(out)-1].PublishedAt = append(out[len(out)-1].PublishedAt, a.DoneAt) // replaced below if broadcasts are known
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("public announcements: %w", err)
	}
	return out, s.publishedTimes(ctx, out, index)
}

// publishedTimes fills in the times of the broadcasts that carried each announcement.
func (s *Service) publishedTimes(ctx context.Context, out []PublicAnnouncement, index map[int64]int) error {
	rows, err := s.db.QueryContext(ctx, `SELECT b.announcement_id, b.at_ms FROM announcement_broadcasts b
		JOIN announcements a ON a.id = b.announcement_id WHERE a.state IN ('scheduled', 'done') ORDER BY b.at_ms`)
	if err != nil {
		return fmt.Errorf("public announcements: %w", err)
	}
	defer rows.Close()
	seen := map[int64]bool{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return fmt.Errorf("public announcements: %w", err)
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		if !seen[id] {
			seen[id], out[i].PublishedAt = true, out[i].PublishedAt[:0]
		}
		out[i].PublishedAt = append(out[i].PublishedAt, time.UnixMilli(at))
	}
	return rows.Err()
}
