// Package presence knows which terminals are online, from the retained status each agent
// publishes when it connects and the Last Will the broker publishes when it drops.
package presence

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
)

// Presence is one terminal's last known state.
type Presence struct {
	Online   bool
	LastSeen time.Time
	Version  string
}

// Tracker holds every terminal's presence.
type Tracker struct {
	db        *store.DB
	log       *slog.Logger
	known     func(id string) bool
	onOffline func(id string, at time.Time)
	onOnline  func(id string)
	// onReconnect is told of a new connection of a terminal already online (reconnect.go).
	onReconnect func(id string)
	onChange    func(id string, online bool, cause string, at time.Time) // liveness.go

	mu    sync.Mutex
	state map[string]Presence
	dirty map[string]time.Time // last_seen values not yet stored
	// goodbye is when (on the terminal's clock) each terminal last said it was going offline.
	goodbye map[string]time.Time
	// announced is the connection time of each terminal's last online status (reconnect.go).
	announced map[string]int64

	// Heartbeat timers (liveness.go), also under mu; stopped means off for good.
	live    liveness
	stopped bool
}

// New makes a tracker; known says whether a terminal id is in the inventory and onOffline is
// told when an online terminal goes away.
func New(db *store.DB, log *slog.Logger, known func(string) bool, onOffline func(string, time.Time)) *Tracker {
	return &Tracker{db: db, log: log, known: known, onOffline: onOffline,
		state: map[string]Presence{}, dirty: map[string]time.Time{}, goodbye: map[string]time.Time{}}
}

// Load restores last-seen times from the store; every terminal starts offline until it speaks.
func (t *Tracker) Load(ctx context.Context) error {
	rows, err := t.db.QueryContext(ctx, `SELECT id, last_seen_ms FROM terminals WHERE last_seen_ms > 0`)
	if err != nil {
		return fmt.Errorf("load presence: %w", err)
	}
	defer rows.Close()
	t.mu.Lock()
	defer t.mu.Unlock()
	for rows.Next() {
		var id string
		var seen int64
		if err := rows.Scan(&id, &seen); err != nil {
			return fmt.Errorf("load presence: %w", err)
		}
		t.state[id] = Presence{LastSeen: time.UnixMilli(seen)}
	}
	return rows.Err()
}

// Apply takes a status message published on the status topic of terminal from.
func (t *Tracker) Apply(from string, st *dalabapb.Status) error {
	if st.GetTerminalId() != from {
		return fmt.Errorf("status for %q on the topic of %q", st.GetTerminalId(), from)
	}
	if !t.known(from) {
		return fmt.Errorf("status from unknown terminal %q", from)
	}
	now := time.Now()
	t.mu.Lock()
	prev := t.state[from]
	p := Presence{Online: st.GetOnline(), LastSeen: prev.LastSeen, Version: prev.Version}
	reconnected := false
	if st.GetOnline() {
		reconnected = t.announcedLocked(from, prev.Online, st.GetAtUnixMs())
		p.LastSeen, p.Version = now, st.GetAgentVersion()
		t.dirty[from] = now
		delete(t.goodbye, from)
	} else {
		t.goodbye[from] = time.UnixMilli(st.GetAtUnixMs())
	}
	t.state[from] = p
	t.heardLocked(from, now, p.Online)
	t.mu.Unlock()
	if prev.Online && !p.Online {
		t.log.Info("terminal offline", "terminal", from)
		t.onOffline(from, now)
		t.changed(from, false, "offline status: goodbye or Last Will", now)
	} else if !prev.Online && p.Online {
		t.log.Debug("terminal online", "terminal", from, "version", p.Version)
		if t.onOnline != nil {
			t.onOnline(from)
		}
		t.changed(from, true, "online status", now)
	} else if reconnected {
		t.log.Info("terminal reconnected without going offline", "terminal", from)
		if t.onReconnect != nil {
			t.onReconnect(from)
		}
	}
	return nil
}

// Get returns a terminal's presence.
func (t *Tracker) Get(id string) Presence {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state[id]
}

// OnlineCount is how many terminals are online now.
func (t *Tracker) OnlineCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.state {
		if p.Online {
			n++
		}
	}
	return n
}

// Persist writes last-seen times to the store every interval until ctx ends.
func (t *Tracker) Persist(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return // the controller's shutdown flushes once, before the store closes
		case <-tick.C:
			t.flush(ctx)
		}
	}
}

func (t *Tracker) flush(ctx context.Context) {
	t.mu.Lock()
	batch := t.dirty
	t.dirty = map[string]time.Time{}
	t.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		t.log.Error("store last seen", "err", err)
		return
	}
	defer tx.Rollback()
	for id, at := range batch {
		if _, err := tx.ExecContext(ctx, `UPDATE terminals SET last_seen_ms=? WHERE id=?`, at.UnixMilli(), id); err != nil {
			t.log.Error("store last seen", "terminal", id, "err", err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		t.log.Error("store last seen", "err", err)
	}
}

// Flush stores pending last-seen times now.
func (t *Tracker) Flush() { t.flush(context.Background()) }

// OnOnline sets what to do when a terminal comes (back) online; set it before messages flow.
func (t *Tracker) OnOnline(f func(id string)) { t.onOnline = f }
