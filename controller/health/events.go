package health

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"dalaba/controller/store"
)

// KindOffline is the event kind of a terminal going offline (active) or coming back.
const KindOffline = "offline"

// Event is one thing that happened to a terminal: a fault raised or recovered, or the
// terminal going offline or coming back.
type Event struct {
	ID       int64     `json:"id"`
	Terminal string    `json:"terminal"`
	Kind     string    `json:"kind"`   // a fault name (wire.FaultName) or KindOffline
	Active   bool      `json:"active"` // raised / went offline; false: recovered / back online
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at"`          // by the terminal's clock for faults
	Received time.Time `json:"received_at"` // by the controller's clock
}

// Events is the stored record of terminal events (the terminal_events table).
type Events struct {
	db  *store.DB
	log *slog.Logger
}

func NewEvents(db *store.DB, log *slog.Logger) *Events { return &Events{db: db, log: log} }

// Record stores one event.
func (e *Events) Record(ctx context.Context, ev Event) error {
	_, err := e.db.ExecContext(ctx, `INSERT INTO terminal_events (terminal_id, kind, active, detail, at_ms, received_ms)
		VALUES (?, ?, ?, ?, ?, ?)`, ev.Terminal, ev.Kind, ev.Active, ev.Detail, ev.At.UnixMilli(), ev.Received.UnixMilli())
	if err != nil {
		return fmt.Errorf("store event %s of %s: %w", ev.Kind, ev.Terminal, err)
	}
	return nil
}

// Presence records a terminal going offline or coming back; it fits presence.Tracker.OnChange.
func (e *Events) Presence(id string, online bool, cause string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev := Event{Terminal: id, Kind: KindOffline, Active: !online, Detail: cause, At: at, Received: at}
	if err := e.Record(ctx, ev); err != nil {
		e.log.Error("record presence event", "terminal", id, "online", online, "err", err)
	}
}

// List returns the latest events, newest first, of one terminal or (terminal "") of all.
func (e *Events) List(ctx context.Context, terminal string, limit int) ([]Event, error) {
	q := `SELECT id, terminal_id, kind, active, detail, at_ms, received_ms FROM terminal_events`
	args := []any{}
	if terminal != "" {
		q += ` WHERE terminal_id = ?`
		args = append(args, terminal)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := e.db.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var ev Event
		var at, received int64
		if err := rows.Scan(&ev.ID, &ev.Terminal, &ev.Kind, &ev.Active, &ev.Detail, &at, &received); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		ev.At, ev.Received = time.UnixMilli(at), time.UnixMilli(received)
		out = append(out, ev)
	}
	return out, rows.Err()
}
