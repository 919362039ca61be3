package receipts

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"dalaba/controller/store"
)

// writer batches receipt changes into few transactions: a town-wide broadcast produces four
// reports per terminal within a second, and one commit per report would make the disk the
// bottleneck.
type writer struct {
	db  *store.DB
	log *slog.Logger

	mu        sync.Mutex
	pending   map[key]Receipt
	finished  map[string]time.Time
	kick      chan struct{}
	flushed   *sync.Cond
	seq, done uint64
}

type key struct{ broadcast, terminal string }

const flushEvery = 20 * time.Millisecond

func newWriter(ctx context.Context, db *store.DB, log *slog.Logger) *writer {
	w := &writer{db: db, log: log, pending: map[key]Receipt{}, finished: map[string]time.Time{}, kick: make(chan struct{}, 1)}
	w.flushed = sync.NewCond(&w.mu)
	go w.loop(ctx)
	return w
}

func (w *writer) put(broadcast string, r Receipt) {
	w.mu.Lock()
	w.pending[key{broadcast, r.Terminal}] = r // a later state of the same receipt replaces an earlier one
	w.seq++
	w.mu.Unlock()
}

func (w *writer) finish(broadcast string, at time.Time) {
	w.mu.Lock()
	w.finished[broadcast] = at
	w.seq++
	w.mu.Unlock()
}

// flush blocks until everything put so far is committed.
func (w *writer) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	target := w.seq
	select {
	case w.kick <- struct{}{}:
	default:
	}
	for w.done < target {
		w.flushed.Wait()
	}
}

func (w *writer) loop(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			w.commit()
			return
		case <-t.C:
		case <-w.kick:
		}
		w.commit()
	}
}

func (w *writer) commit() {
	w.mu.Lock()
	batch, fin, seq := w.pending, w.finished, w.seq
	w.pending, w.finished = map[key]Receipt{}, map[string]time.Time{}
	w.mu.Unlock()
	if len(batch) > 0 || len(fin) > 0 {
		if err := writeBatch(context.Background(), w.db, batch, fin); err != nil {
			// Keep the batch for the next tick: a busy or full disk must not lose receipts.
			w.log.Error("store receipts", "receipts", len(batch), "err", err)
			w.mu.Lock()
			for k, r := range batch {
				if _, newer := w.pending[k]; !newer {
					w.pending[k] = r
				}
			}
			for id, at := range fin {
				w.finished[id] = at
			}
			w.mu.Unlock()
			return
		}
	}
	w.mu.Lock()
	w.done = seq
	w.flushed.Broadcast()
	w.mu.Unlock()
}
