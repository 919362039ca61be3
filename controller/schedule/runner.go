// Package schedule plays announcements at set times: recurring (cron) or once (at), from
// schedule files or created over the API, without losing or repeating a slot across restarts.
//
// Policy, for every schedule, each time the runner looks (at each due slot, at start, and at
// least every 30 s):
//
//   - The walk over a schedule's slots starts after its newest recorded slot, or after the
//     moment it was created (or its cron, at or zone last changed) when none is recorded.
//     Every slot from there to now is recorded exactly once: the primary key (schedule id,
//     due ms) of the slot log refuses a second record, so no slot fires twice.
//   - A slot is claimed (recorded) before Fire is called, and its result recorded after.
//   - Only the newest due slot may fire. It fires if it is at most the grace window late
//     (default 10 min), late if need be; further behind it is recorded missed. Older due slots
//     are recorded missed: a loudspeaker does not play yesterday's notice, nor the same notice
//     five times in a row after an outage.
//   - A paused schedule's due slots are recorded skipped (paused).
//   - A slot found claimed at start was interrupted by a crash between claim and result. Within
//     grace it fires again with the same deterministic broadcast id (BroadcastID), which the
//     controller's Fire treats as already sent if it was; past grace it is recorded failed.
//
// See docs/SCHEDULES.md.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"dalaba/controller/store"
)

// Options configure a Runner. Zero values take the defaults shown.
type Options struct {
	DB       *store.DB
	Dir      string           // schedule files (*.yaml); "" loads none
	TimeZone string           // for schedules that name none: Asia/Shanghai
	Fire     Fire             // DefaultFire, which skips every slot
	Now      func() time.Time // time.Now; tests move a fake clock
	Log      *slog.Logger
}

// Runner walks the schedules' slots, records each and fires the due ones.
type Runner struct {
	db   *store.DB
	dir  string
	zone string
	now  func() time.Time
	log  *slog.Logger
	fire atomic.Pointer[Fire]

	// mu serialises the walk over slots with every change to the set of schedules, so a walk
	// never sees half a reload.
	mu   sync.Mutex
	wake chan struct{}

	fireCtx    context.Context // cancelled by Stop: a Fire interrupted then leaves its slot claimed
	stopFires  context.CancelFunc
	stopLoop   context.CancelFunc
	loopDone   chan struct{}
	inflight   sync.WaitGroup
	loadErr    atomic.Pointer[error]
	maxWait    time.Duration
	fireLimit  time.Duration
	startedRun atomic.Bool
}

// New prepares a runner: applies the schedule tables and checks the default zone.
func New(ctx context.Context, opts Options) (*Runner, error) {
	if opts.TimeZone == "" {
		opts.TimeZone = DefaultZone
	}
	if _, err := loadZone(opts.TimeZone); err != nil {
		return nil, fmt.Errorf("schedules: default %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := ensure(ctx, opts.DB); err != nil {
		return nil, err
	}
	r := &Runner{db: opts.DB, dir: opts.Dir, zone: opts.TimeZone, now: opts.Now, log: opts.Log,
		wake: make(chan struct{}, 1), loopDone: make(chan struct{}), maxWait: 30 * time.Second, fireLimit: 2 * time.Minute}
	r.fireCtx, r.stopFires = context.WithCancel(context.Background())
	r.SetFire(opts.Fire)
	return r, nil
}

// SetFire replaces the function that plays a slot; nil restores DefaultFire.
func (r *Runner) SetFire(f Fire) {
	if f == nil {
		f = DefaultFire
	}
	r.fire.Store(&f)
}

// Now is the runner's clock.
func (r *Runner) Now() time.Time { return r.now() }

// TimeZone is the zone of schedules that name none.
func (r *Runner) TimeZone() string { return r.zone }

// Start recovers slots a crash left claimed, loads the schedule files (a bad file is logged
// and the stored set kept: a typo must not stop the other schedules), then runs the walk until
// Stop or ctx ends.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.recoverClaimed(ctx); err != nil {
		return err
	}
	if r.dir != "" {
		if _, err := r.Reload(ctx); err != nil {
			r.log.Error("schedule files not applied; keeping the stored schedules", "dir", r.dir, "err", err)
		}
	}
	ctx, r.stopLoop = context.WithCancel(ctx)
	r.startedRun.Store(true)
	go r.loop(ctx)
	return nil
}

// Stop ends the walk and interrupts any Fire in progress (its slot stays claimed, for the next
// start to recover), then waits for both.
func (r *Runner) Stop() {
	if r.startedRun.Load() {
		r.stopLoop()
		<-r.loopDone
	}
	r.stopFires()
	r.inflight.Wait()
}

// LoadError is the error of the last load of the schedule files, nil when it applied.
func (r *Runner) LoadError() error {
	if p := r.loadErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) loop(ctx context.Context) {
	defer close(r.loopDone)
	for {
		// The wait is capped so that a wall clock stepped by NTP is noticed within maxWait.
		wait := r.maxWait
		if next := r.runDue(ctx); !next.IsZero() {
			wait = min(wait, max(next.Sub(r.now()), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}
