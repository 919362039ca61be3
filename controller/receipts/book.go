package receipts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
)

// Broadcast states.
const (
	StateActive   = "active"   // some online target has not finished
	StateFinished = "finished" // every target done, failed or offline
	// StateCancelled: staff or the upper platform cancelled it; terminals that had it report
	// cancelled with proof of what they played.
	StateCancelled = "cancelled"
)

// Broadcast is what the book knows about one broadcast besides its receipts.
type Broadcast struct {
	ID           string
	Title        string
	Targets      string
	ProgramID    string
	Priority     int32
	CreatedAt    time.Time
	ValidUntil   time.Time
	ProgramBytes int64
	// ProgramDuration and ProgramPeak are what a terminal's proof of play is checked against.
	ProgramDuration time.Duration
	ProgramPeak     float64
	// PlayAt is when, on the controller's clock, the first sample sounds on every terminal.
	PlayAt time.Time
	// Emergency fields (zero for routine broadcasts); see PlayCommand.
	Severity       int32
	Repeat         int32
	RepeatInterval time.Duration
	EndAt          time.Time
	ForcedVolume   int32
	// LiveID names the live stream of a shout; it has no stored program.
	LiveID       string
	CancelledAt  time.Time
	CancelReason string
}

// Target is one terminal a broadcast was sent to, with its presence at send time.
type Target struct {
	Terminal string
	Village  string
	Online   bool
}

// Rejection counters: reports that were not taken as truth.
var (
	ErrUnknownBroadcast = errors.New("receipt for an unknown or closed broadcast")
	ErrNotATarget       = errors.New("receipt from a terminal the broadcast was not sent to")
	ErrBadReceipt       = errors.New("malformed receipt")
)

// Book holds the receipts of open broadcasts in memory, writes every change through to the
// store in batches, and wakes whoever waits on a broadcast.
type Book struct {
	db     *store.DB
	log    *slog.Logger
	writer *writer

	mu      sync.Mutex
	open    map[string]*entry
	changed *sync.Cond
	observe func(State, time.Duration)
}

// Observe sets a function told, for each receipt a terminal reports, its state and how long
// after sending it arrived (for the latency histogram). Set it before receipts flow.
func (bk *Book) Observe(f func(State, time.Duration)) { bk.observe = f }

type entry struct {
	b        Broadcast
	state    string
	finished time.Time
	receipts map[string]*Receipt
	counts   Counts
	reopened bool // taken up from the store at start (Reopen)
}

// Counts is the number of receipts in each state.
type Counts map[State]int

func (c Counts) clone() Counts {
	out := make(Counts, len(States))
	for _, s := range States {
		out[s] = c[s]
	}
	return out
}

// update moves a receipt to a new state, keeping counts and the store in step; false when the
// report moves nothing (stale or repeated). Caller holds mu.
func (bk *Book) update(e *entry, rc *Receipt, s State, reason Reason, detail string, at time.Time, fromTerminal bool, proof *Proof) bool {
	before := rc.State
	if !rc.advance(s, reason, detail, at, fromTerminal) {
		return false
	}
	if proof != nil {
		rc.Played = proof
	}
	if fromTerminal && bk.observe != nil {
		bk.observe(rc.State, at.Sub(e.b.CreatedAt))
	}
	e.counts[before]--
	e.counts[rc.State]++
	bk.writer.put(e.b.ID, *rc)
	bk.settle(e, at)
	return true
}

// NewBook starts the book's store writer; it stops when ctx ends, after a final flush.
func NewBook(ctx context.Context, db *store.DB, log *slog.Logger) *Book {
	bk := &Book{db: db, log: log, open: make(map[string]*entry), writer: newWriter(ctx, db, log)}
	bk.changed = sync.NewCond(&bk.mu)
	return bk
}

// Open records a new broadcast and a receipt per target (pending, or offline) in one
// transaction, so a broadcast is never stored without its targets.
func (bk *Book) Open(ctx context.Context, b Broadcast, targets []Target) error {
	now := b.CreatedAt
	e := &entry{b: b, state: StateActive, receipts: make(map[string]*Receipt, len(targets)), counts: Counts{}}
	for _, t := range targets {
		st := Pending
		if !t.Online {
			st = Offline
		}
		e.receipts[t.Terminal] = &Receipt{Terminal: t.Terminal, Village: t.Village, State: st, UpdatedAt: now}
		e.counts[st]++
	}
	if err := insertBroadcast(ctx, bk.db, b, e.receipts); err != nil {
		return err
	}
	bk.mu.Lock()
	bk.open[b.ID] = e
	bk.settle(e, now)
	bk.mu.Unlock()
	return nil
}

// Apply takes a receipt reported by a terminal.
func (bk *Book) Apply(r *dalabapb.Receipt, from string) error {
	st, ok := stateFromWire(r.GetState())
	if !ok || r.GetBroadcastId() == "" || r.GetTerminalId() != from {
		return fmt.Errorf("%w: state %v, broadcast %q, terminal %q on topic of %q", ErrBadReceipt,
			r.GetState(), r.GetBroadcastId(), r.GetTerminalId(), from)
	}
	reason, detail := NoReason, r.GetDetail()
	if st == Failed {
		reason = reasonFromWire(r.GetReason())
	}
	// NaN cannot be stored (SQLite keeps it as NULL, and a batch that fails is retried
	// forever, holding back every other receipt), neither NaN nor Inf can be sent as JSON,
	// the store reads a negative volume as "no proof", and a time past year 9999 cannot be
	// sent as JSON either (the broadcast's whole report would fail).
	if p := r.GetPlayed(); p != nil && !(finite(p.GetPeak()) && finite(p.GetRms()) && p.GetVolume() >= 0 &&
		jsonTime(p.GetStartedUnixMs()) && jsonTime(p.GetEndedUnixMs())) {
		return fmt.Errorf("%w: proof of play with peak %v, rms %v, volume %d, start %d ms, end %d ms", ErrBadReceipt,
			p.GetPeak(), p.GetRms(), p.GetVolume(), p.GetStartedUnixMs(), p.GetEndedUnixMs())
	}
	proof := proofFromWire(r.GetPlayed())
	bk.mu.Lock()
	defer bk.mu.Unlock()
	e, ok := bk.open[r.GetBroadcastId()]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownBroadcast, r.GetBroadcastId())
	}
	rc, ok := e.receipts[from]
	if !ok {
		return fmt.Errorf("%w: %s not in %s", ErrNotATarget, from, r.GetBroadcastId())
	}
	if st == Done {
		if why, d := verdict(e.b, proof); why != NoReason {
			st, reason, detail = Failed, why, d
		}
	}
	now := time.Now()
	filled := rc.backfill(r, now, e.b.CreatedAt)
	if !bk.update(e, rc, st, reason, detail, now, true, proof) && filled {
		bk.writer.put(e.b.ID, *rc) // a stale report that told an earlier step's time, unknown till now
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// jsonTime reports whether unix ms is unset (0) or a time JSON can carry (1970 to year 9999).
func jsonTime(ms int64) bool { return ms >= 0 && ms <= 253402300799999 }

// TerminalOffline fails the unfinished receipts of a terminal that went away.
func (bk *Book) TerminalOffline(terminal string, at time.Time) {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	for _, e := range bk.open {
		rc, ok := e.receipts[terminal]
		if !ok || rc.State.Final() {
			continue
		}
		bk.update(e, rc, Failed, Disconnected, "", at, false, nil)
	}
}

// settle updates a broadcast's state after a change and wakes waiters. Caller holds mu.
func (bk *Book) settle(e *entry, at time.Time) {
	if e.finished.IsZero() && e.counts[Done]+e.counts[Failed]+e.counts[Offline]+e.counts[Cancelled] == len(e.receipts) {
		if e.state == StateActive {
			e.state = StateFinished
		}
		e.finished = at
		bk.writer.finish(e.b.ID, at)
	}
	bk.changed.Broadcast()
}

// Sweep closes what the clock decides: receipts still open after the validity window become
// failed with no_report, and broadcasts finished long ago leave memory (they stay in the store).
func (bk *Book) Sweep(now time.Time, keep time.Duration) {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	for id, e := range bk.open {
		if now.After(e.b.ValidUntil) {
			for _, rc := range e.receipts {
				if !rc.State.Final() {
					bk.update(e, rc, Failed, NoReport, "", now, false, nil)
				}
			}
			bk.settle(e, now)
		}
		if !e.finished.IsZero() && now.Sub(e.finished) > keep && now.After(e.b.ValidUntil) {
			delete(bk.open, id)
		}
	}
}

// Summary is a broadcast's receipts at one moment.
type Summary struct {
	Broadcast
	State    string
	Counts   Counts
	Receipts []Receipt
}

// Snapshot returns the current summary of an open broadcast.
func (bk *Book) Snapshot(id string) (Summary, bool) {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	e, ok := bk.open[id]
	if !ok {
		return Summary{}, false
	}
	return e.summary(), true
}

func (e *entry) summary() Summary {
	s := Summary{Broadcast: e.b, State: e.state, Counts: e.counts.clone(), Receipts: make([]Receipt, 0, len(e.receipts))}
	for _, rc := range e.receipts {
		s.Receipts = append(s.Receipts, *rc)
	}
	sort.Slice(s.Receipts, func(i, j int) bool { return s.Receipts[i].Terminal < s.Receipts[j].Terminal })
	return s
}

// Await blocks until cond holds for the broadcast's state and counts, or ctx ends, and returns
// the summary at that moment.
func (bk *Book) Await(ctx context.Context, id string, cond func(state string, c Counts) bool) (Summary, error) {
	stop := context.AfterFunc(ctx, func() {
		bk.mu.Lock()
		bk.changed.Broadcast()
		bk.mu.Unlock()
	})
	defer stop()
	bk.mu.Lock()
	defer bk.mu.Unlock()
	for {
		e, ok := bk.open[id]
		if !ok {
			return Summary{}, fmt.Errorf("%w: %s", ErrUnknownBroadcast, id)
		}
		if cond(e.state, e.counts) {
			return e.summary(), nil
		}
		if err := ctx.Err(); err != nil {
			return e.summary(), err
		}
		bk.changed.Wait()
	}
}

// Flush waits until every change so far is in the store.
func (bk *Book) Flush() { bk.writer.flush() }
