package receipts

import (
	"context"
	"fmt"
	"time"
)

// ProgramFacts is what the store does not keep of a program but a reopened broadcast needs:
// its size for the play command, its peak to judge proofs of play against.
type ProgramFacts func(programID string) (bytes int64, peak float64, err error)

// Reopen puts back into memory, at start, every broadcast a stopped or killed controller had
// in memory: those not finished (active, or cancelled with terminals still to answer) and
// those whose window is still open (finished with terminals offline, who get it when they come
// back), with their receipts as stored. Terminals' reports land on them again, redelivery
// reaches the terminals that have not answered, and the sweep closes them when the window
// ends. Without it an active broadcast would stay active in the store for ever, and an offline
// terminal would never get one sent before the restart. It returns how many it reopened.
func (bk *Book) Reopen(ctx context.Context, facts ProgramFacts) (int, error) {
	now := time.Now()
	rows, err := bk.db.QueryContext(ctx, `SELECT id, finished_ms FROM broadcasts WHERE finished_ms = 0 OR valid_until_ms > ?
		ORDER BY created_ms`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("reopen broadcasts: %w", err)
	}
	var ids []string
	finished := map[string]time.Time{}
	for rows.Next() {
		var id string
		var fin int64
		if err := rows.Scan(&id, &fin); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reopen broadcasts: %w", err)
		}
		ids = append(ids, id)
		finished[id] = fromMS(fin)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reopen broadcasts: %w", err)
	}
	for _, id := range ids {
		s, err := Load(ctx, bk.db, id)
		if err != nil {
			return 0, err
		}
		if s.LiveID == "" {
			// A program that cannot be read fails this broadcast where it is redelivered (an
			// empty program is refused by terminals), not the controller's start.
			if s.ProgramBytes, s.ProgramPeak, err = facts(s.ProgramID); err != nil {
				bk.log.Error("reopen broadcast: program unreadable", "broadcast", id, "program", s.ProgramID, "err", err)
			}
		}
		e := &entry{b: s.Broadcast, state: s.State, receipts: make(map[string]*Receipt, len(s.Receipts)), counts: Counts{},
			finished: finished[id], reopened: true}
		for _, r := range s.Receipts {
			e.receipts[r.Terminal] = &r
			e.counts[r.State]++
		}
		bk.mu.Lock()
		bk.open[id] = e
		bk.settle(e, now) // finishes one all answered before the crash, when the finish was not stored
		bk.mu.Unlock()
		bk.log.Info("broadcast reopened after restart", "broadcast", id, "state", s.State, "receipts", len(s.Receipts))
	}
	return len(ids), nil
}
