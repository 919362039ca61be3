package cascade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"dalaba/controller/store"
)

// The cascade's own tables: envelopes seen (replays are refused), messages taken, and the
// coverage platforms below reported.
var migrations = []string{
	`CREATE TABLE cascade_envelopes (
		id          TEXT PRIMARY KEY, -- EBDID, or CAP sender,identifier
		issuer      TEXT NOT NULL,
		received_ms INTEGER NOT NULL
	);
	CREATE TABLE cascade_alerts (
		id           TEXT PRIMARY KEY, -- EBMID, or CAP sender,identifier
		format       TEXT NOT NULL,
		issuer       TEXT NOT NULL,
		title        TEXT NOT NULL,
		severity     INTEGER NOT NULL,
		drill        INTEGER NOT NULL,
		areas        TEXT NOT NULL,          -- comma-separated, as received
		broadcast_id TEXT NOT NULL DEFAULT '', -- empty when nothing plays here
		relayed_to   TEXT NOT NULL DEFAULT '', -- downstream platform names, comma-separated
		received_ms  INTEGER NOT NULL,
		end_ms       INTEGER NOT NULL,
		cancelled_ms INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE cascade_reports (
		alert_id TEXT NOT NULL,
		platform TEXT NOT NULL,
		area     TEXT NOT NULL,
		state    INTEGER NOT NULL,
		total    INTEGER NOT NULL,
		played   INTEGER NOT NULL,
		at_ms    INTEGER NOT NULL,
		PRIMARY KEY (alert_id, platform, area)
	);`,
}

// ErrReplayed is an envelope seen before.
var ErrReplayed = errors.New("envelope already received")

func migrate(ctx context.Context, db *store.DB) error {
	return db.ApplyComponent(ctx, "cascade", migrations)
}

// claimEnvelope records an envelope id once; a second time is ErrReplayed.
func claimEnvelope(ctx context.Context, db *store.DB, id, issuer string, now time.Time) error {
	res, err := db.ExecContext(ctx, `INSERT INTO cascade_envelopes (id, issuer, received_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		id, issuer, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record envelope %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrReplayed, id)
	}
	return nil
}

// record is a message as this platform took it.
type record struct {
	ID, Format, Issuer, Title string
	Severity                  int
	Drill                     bool
	Areas                     []string
	BroadcastID               string
	RelayedTo                 []string
	Received, End, Cancelled  time.Time
}

// insertAlert records a new message; false when it was already taken (another envelope of it).
func insertAlert(ctx context.Context, db *store.DB, r record) (bool, error) {
	res, err := db.ExecContext(ctx, `INSERT INTO cascade_alerts (id, format, issuer, title, severity, drill, areas, broadcast_id, relayed_to, received_ms, end_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.ID, r.Format, r.Issuer, r.Title, r.Severity, r.Drill,
		strings.Join(r.Areas, ","), r.BroadcastID, strings.Join(r.RelayedTo, ","), r.Received.UnixMilli(), r.End.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("record message %s: %w", r.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// alertColumns are cascade_alerts' columns in the order scanAlert reads them.
const alertColumns = `id, format, issuer, title, severity, drill, areas, broadcast_id, relayed_to, received_ms, end_ms, cancelled_ms`

// scanAlert reads one row of alertColumns.
func scanAlert(row interface{ Scan(...any) error }) (record, error) {
	var r record
	var areas, relayed string
	var recv, end, canc int64
	if err := row.Scan(&r.ID, &r.Format, &r.Issuer, &r.Title, &r.Severity, &r.Drill, &areas, &r.BroadcastID, &relayed, &recv, &end, &canc); err != nil {
		return r, err
	}
	r.Areas, r.RelayedTo = splitList(areas), splitList(relayed)
	r.Received, r.End = time.UnixMilli(recv), time.UnixMilli(end)
	if canc != 0 {
		r.Cancelled = time.UnixMilli(canc)
	}
	return r, nil
}

func loadAlert(ctx context.Context, db *store.DB, id string) (record, error) {
	r, err := scanAlert(db.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM cascade_alerts WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("message %s: %w", id, ErrUnknownAlert)
	}
	if err != nil {
		return r, fmt.Errorf("load message %s: %w", id, err)
	}
	return r, nil
}

// newestAlerts are the limit messages taken most recently, newest first.
func newestAlerts(ctx context.Context, db *store.DB, limit int) ([]record, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+alertColumns+` FROM cascade_alerts ORDER BY received_ms DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []record
	for rows.Next() {
		r, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// ErrUnknownAlert is a cancel or report of a message this platform never took.
var ErrUnknownAlert = errors.New("unknown message")

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// deleteAlert forgets a message that could not be played.
func deleteAlert(ctx context.Context, db *store.DB, id string) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM cascade_alerts WHERE id=?`, id); err != nil {
		return fmt.Errorf("forget message %s: %w", id, err)
	}
	return nil
}

func markCancelled(ctx context.Context, db *store.DB, id string, at time.Time) error {
	if _, err := db.ExecContext(ctx, `UPDATE cascade_alerts SET cancelled_ms=? WHERE id=? AND cancelled_ms=0`, at.UnixMilli(), id); err != nil {
		return fmt.Errorf("cancel message %s: %w", id, err)
	}
	return nil
}

// saveReport keeps a platform's latest coverage of one area.
func saveReport(ctx context.Context, db *store.DB, alertID, platform string, state BrdState, c Coverage, at time.Time) error {
	_, err := db.ExecContext(ctx, `INSERT INTO cascade_reports (alert_id, platform, area, state, total, played, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (alert_id, platform, area) DO UPDATE SET state=excluded.state, total=excluded.total, played=excluded.played, at_ms=excluded.at_ms`,
		alertID, platform, c.AreaCode, state, c.ResTotal, c.ResPlayed, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("save report of %s for %s: %w", platform, alertID, err)
	}
	return nil
}

// downstreamReport is one platform's latest report of one area.
type downstreamReport struct {
	Platform      string
	Area          string
	State         BrdState
	Total, Played int
}

func loadReports(ctx context.Context, db *store.DB, alertID string) ([]downstreamReport, error) {
	rows, err := db.QueryContext(ctx, `SELECT platform, area, state, total, played FROM cascade_reports WHERE alert_id=? ORDER BY platform, area`, alertID)
	if err != nil {
		return nil, fmt.Errorf("reports of %s: %w", alertID, err)
	}
	defer rows.Close()
	var out []downstreamReport
	for rows.Next() {
		var r downstreamReport
		if err := rows.Scan(&r.Platform, &r.Area, &r.State, &r.Total, &r.Played); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
