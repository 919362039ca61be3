package receipts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"dalaba/controller/store"
)

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v)
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

const upsertReceipt = `INSERT INTO receipts (broadcast_id, terminal_id, village_code, state, reason, detail,
	updated_ms, received_ms, fetched_ms, playing_ms, done_ms,
	played_bytes, played_ms, peak, rms, volume, play_start_ms, play_end_ms, late_us, frames_concealed)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
	ON CONFLICT(broadcast_id, terminal_id) DO UPDATE SET state=excluded.state, reason=excluded.reason,
	detail=excluded.detail, updated_ms=excluded.updated_ms, received_ms=excluded.received_ms,
	fetched_ms=excluded.fetched_ms, playing_ms=excluded.playing_ms, done_ms=excluded.done_ms,
	played_bytes=excluded.played_bytes, played_ms=excluded.played_ms, peak=excluded.peak, rms=excluded.rms,
	volume=excluded.volume, play_start_ms=excluded.play_start_ms, play_end_ms=excluded.play_end_ms,
	late_us=excluded.late_us, frames_concealed=excluded.frames_concealed`

func insertBroadcast(ctx context.Context, db *store.DB, b Broadcast, rs map[string]*Receipt) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record broadcast %s: %w", b.ID, err)
	}
	defer tx.Rollback()
	if b.LiveID != "" { // a live shout has no stored program: a row stands for its stream
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO programs (id, bytes, source, created_ms)
			VALUES (?, 0, 'live shout', ?)`, b.ProgramID, ms(b.CreatedAt)); err != nil {
			return fmt.Errorf("record broadcast %s: %w", b.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO broadcasts (id, title, targets, program_id, priority,
		created_ms, valid_until_ms, state, program_ms, severity, repeat, repeat_interval_ms, end_ms, forced_volume,
		play_at_us, live_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, b.ID, b.Title, b.Targets, b.ProgramID,
		b.Priority, ms(b.CreatedAt), ms(b.ValidUntil), StateActive, b.ProgramDuration.Milliseconds(),
		b.Severity, b.Repeat, b.RepeatInterval.Milliseconds(), ms(b.EndAt), b.ForcedVolume, us(b.PlayAt), b.LiveID); err != nil {
		return fmt.Errorf("record broadcast %s: %w", b.ID, err)
	}
	all := make([]Receipt, 0, len(rs))
	for _, r := range rs {
		all = append(all, *r)
	}
	if err := putReceipts(ctx, tx, b.ID, all); err != nil {
		return fmt.Errorf("record broadcast %s: %w", b.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record broadcast %s: %w", b.ID, err)
	}
	return nil
}

func putReceipts(ctx context.Context, tx *sql.Tx, id string, rs []Receipt) error {
	stmt, err := tx.PrepareContext(ctx, upsertReceipt)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rs {
		p := Proof{Volume: -1}
		if r.Played != nil {
			p = *r.Played
		}
		if _, err := stmt.ExecContext(ctx, id, r.Terminal, r.Village, string(r.State), string(r.Reason), r.Detail,
			ms(r.UpdatedAt), ms(r.ReceivedAt), ms(r.FetchedAt), ms(r.PlayingAt), ms(r.DoneAt),
			p.Bytes, int64(p.Duration), p.Peak, p.RMS, p.Volume, ms(p.Start), ms(p.End), p.LateUs, p.FramesConcealed); err != nil {
			return fmt.Errorf("receipt %s/%s: %w", id, r.Terminal, err)
		}
	}
	return nil
}

func writeBatch(ctx context.Context, db *store.DB, batch map[key]Receipt, finished map[string]time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	byBroadcast := map[string][]Receipt{}
	for k, r := range batch {
		byBroadcast[k.broadcast] = append(byBroadcast[k.broadcast], r)
	}
	for id, rs := range byBroadcast {
		if err := putReceipts(ctx, tx, id, rs); err != nil {
			return err
		}
	}
	for id, at := range finished {
		// A cancelled broadcast keeps saying so once its last terminal has answered.
		if _, err := tx.ExecContext(ctx, `UPDATE broadcasts SET state=CASE WHEN state=? THEN state ELSE ? END,
			finished_ms=? WHERE id=?`, StateCancelled, StateFinished, ms(at), id); err != nil {
			return fmt.Errorf("finish broadcast %s: %w", id, err)
		}
	}
	return tx.Commit()
}

// ErrNotFound is returned for a broadcast the store does not have.
var ErrNotFound = errors.New("no such broadcast")

// Load reads a broadcast's summary from the store: the book falls back to it for broadcasts
// that have left memory.
func Load(ctx context.Context, db *store.DB, id string) (Summary, error) {
	var s Summary
	var created, valid, programMS, intervalMS, end, playAt, cancelled int64
	err := db.QueryRowContext(ctx, `SELECT id, title, targets, program_id, priority, created_ms, valid_until_ms, state, program_ms,
		severity, repeat, repeat_interval_ms, end_ms, forced_volume, play_at_us, live_id, cancelled_ms, cancel_reason
		FROM broadcasts WHERE id=?`, id).Scan(&s.ID, &s.Title, &s.Targets, &s.ProgramID, &s.Priority, &created, &valid, &s.State, &programMS,
		&s.Severity, &s.Repeat, &intervalMS, &end, &s.ForcedVolume, &playAt, &s.LiveID, &cancelled, &s.CancelReason)
	if errors.Is(err, sql.ErrNoRows) {
		return Summary{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("load broadcast %s: %w", id, err)
	}
	s.CreatedAt, s.ValidUntil = fromMS(created), fromMS(valid)
	s.ProgramDuration = time.Duration(programMS) * time.Millisecond
	s.RepeatInterval = time.Duration(intervalMS) * time.Millisecond
	s.EndAt, s.PlayAt, s.CancelledAt = fromMS(end), fromUS(playAt), fromMS(cancelled)
	rows, err := db.QueryContext(ctx, `SELECT terminal_id, village_code, state, reason, detail, updated_ms,
		received_ms, fetched_ms, playing_ms, done_ms, played_bytes, played_ms, peak, rms, volume, play_start_ms,
		play_end_ms, late_us, frames_concealed FROM receipts WHERE broadcast_id=? ORDER BY terminal_id`, id)
	if err != nil {
		return Summary{}, fmt.Errorf("load receipts of %s: %w", id, err)
	}
	defer rows.Close()
	s.Counts = Counts{}
	for rows.Next() {
		var r Receipt
		var st, reason string
		var upd, rec, fet, pla, don, start, end int64
		var p Proof
		if err := rows.Scan(&r.Terminal, &r.Village, &st, &reason, &r.Detail, &upd, &rec, &fet, &pla, &don,
			&p.Bytes, &p.Duration, &p.Peak, &p.RMS, &p.Volume, &start, &end, &p.LateUs, &p.FramesConcealed); err != nil {
			return Summary{}, fmt.Errorf("load receipts of %s: %w", id, err)
		}
		if p.Volume >= 0 { // -1: no proof was ever reported
			p.Start, p.End = fromMS(start), fromMS(end)
			r.Played = &p
		}
		r.State, r.Reason = State(st), Reason(reason)
		r.UpdatedAt, r.ReceivedAt, r.FetchedAt, r.PlayingAt, r.DoneAt = fromMS(upd), fromMS(rec), fromMS(fet), fromMS(pla), fromMS(don)
		s.Receipts = append(s.Receipts, r)
		s.Counts[r.State]++
	}
	s.Counts = s.Counts.clone()
	return s, rows.Err()
}

// Get returns a broadcast's summary from memory if it is open, else from the store.
func (bk *Book) Get(ctx context.Context, id string) (Summary, error) {
	if s, ok := bk.Snapshot(id); ok {
		return s, nil
	}
	return Load(ctx, bk.db, id)
}
