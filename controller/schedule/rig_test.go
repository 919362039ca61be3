package schedule

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"dalaba/controller/store"
)

// clock is a fake clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// firer records every call of Fire; do decides the answer (nil: sent, with the slot's id).
type firer struct {
	mu    sync.Mutex
	calls []Slot
	do    func(ctx context.Context, s Slot) (string, error)
}

func (f *firer) fire(ctx context.Context, s Slot) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	do := f.do
	f.mu.Unlock()
	if do != nil {
		return do(ctx, s)
	}
	return s.BroadcastID, nil
}

// answer sets what the next calls of Fire do.
func (f *firer) answer(do func(ctx context.Context, s Slot) (string, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.do = do
}

func (f *firer) Calls() []Slot { f.mu.Lock(); defer f.mu.Unlock(); return slices.Clone(f.calls) }

// rig is a runner over a real SQLite store in a temp dir, at a fake clock. It does not run the
// loop: step looks at the slots as the loop would at a given time, and waits for the Fires.
type rig struct {
	t     *testing.T
	data  string // the store's dir, kept across restarts
	files string // schedule files
	db    *store.DB
	clock *clock
	fire  *firer
	r     *Runner
}

func newRig(t *testing.T, start time.Time) *rig {
	g := &rig{t: t, data: t.TempDir(), files: t.TempDir(), clock: &clock{t: start}, fire: &firer{}}
	g.open()
	t.Cleanup(func() { g.r.Stop(); g.db.Close() })
	return g
}

func (g *rig) open() {
	g.t.Helper()
	db, err := store.Open(g.data)
	if err != nil {
		g.t.Fatal(err)
	}
	r, err := New(context.Background(), Options{DB: db, Dir: g.files, Fire: g.fire.fire, Now: g.clock.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		g.t.Fatal(err)
	}
	g.db, g.r = db, r
}

// restart stops the runner (a Fire in progress is interrupted, as by a crash), closes the
// store, and starts a new runner over it at the clock's time, recovering claimed slots.
func (g *rig) restart(at time.Time) {
	g.t.Helper()
	g.r.Stop()
	g.db.Close()
	g.clock.Set(at)
	g.open()
	if err := g.r.recoverClaimed(context.Background()); err != nil {
		g.t.Fatal(err)
	}
	g.r.inflight.Wait()
}

func (g *rig) step(at time.Time) {
	g.clock.Set(at)
	g.r.runDue(context.Background())
	g.r.inflight.Wait()
}

func (g *rig) create(d Def) Schedule {
	g.t.Helper()
	s, err := g.r.Create(context.Background(), d)
	if err != nil {
		g.t.Fatalf("create %s: %v", d.ID, err)
	}
	return s
}

// slots is the slot log of a schedule, oldest first.
func (g *rig) slots(id string) []SlotRecord {
	g.t.Helper()
	s, err := g.r.Slots(context.Background(), id, 100000)
	if err != nil {
		g.t.Fatal(err)
	}
	slices.Reverse(s)
	return s
}

func states(ss []SlotRecord) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Due.Format("01-02 15:04") + " " + s.State
	}
	return out
}
