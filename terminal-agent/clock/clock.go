// Package clock estimates how far a terminal's clock is from the controller's, so that every
// horn starts a program at the same instant of the controller's clock whatever its own clock
// says.
//
// The agent probes the controller (AudioService.Clock): it notes when it sent the probe (t1,
// its clock), the controller notes when it got it (t2) and when it answered (t3), and the agent
// notes when the answer came back (t4). The offset θ = controller − terminal is then bounded:
// the request took a non-negative time, so t2 ≥ t1 + θ, and so did the answer, so
// t4 + θ ≥ t3:
//
//	t3 − t4  ≤  θ  ≤  t2 − t1
//
// Snapcast takes the median of the midpoints ((t2−t1)+(t3−t4))/2 of its last 200 probes. A
// midpoint is off by half the difference between the two directions' delays, and that error
// does not average out when the delays are uneven: a link that queues one way more than the
// other (a busy uplink, or jitter on one side only) biases the median by a quarter of the
// jitter, 5 ms at 20 ms of jitter. Here the bounds of the recent probes are intersected
// instead (the tightest lower and upper bounds, each from whichever probe got through fastest
// in that direction), and the estimate is the middle of what is left. Delay, queueing,
// scheduling and garbage collection only ever widen a probe's interval, never move it off the
// true offset, so no outlier can pull the estimate: the error is half the difference of the
// two directions' fastest trips in the window, which shrinks as probes accumulate: at 20 ms
// of jitter each way, 0.3 ms (median) after the 20 probes of the start burst and 0.1 ms after
// 64, against about 1 ms for a median of midpoints (clock_test.go).
//
// The intersection holds only while both clocks run at the same rate. A clock that was
// stepped (or an intersection that comes out empty for any reason) makes the older probes
// disagree with the newer ones; the estimate then uses the newest probes that agree, so it
// follows a step at once. Slow drift (tens of ppm on a cheap board) shifts old probes by
// drift × window age; the window is kept short (Window probes, about a minute) so that this
// stays well under a millisecond at typical crystal drift.
package clock

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Sample is one probe's four timestamps: T1 and T4 on the terminal's clock, T2 and T3 on the
// controller's.
type Sample struct {
	T1, T2, T3, T4 time.Time
}

// bounds returns the interval the sample allows for θ = controller − terminal, and whether
// the sample is possible at all (a round trip cannot be shorter than the time the controller
// held the probe).
func (s Sample) bounds() (lo, hi time.Duration, ok bool) {
	lo, hi = s.T3.Sub(s.T4), s.T2.Sub(s.T1)
	return lo, hi, lo <= hi && !s.T3.Before(s.T2)
}

// RTT is the sample's round trip less the controller's own time.
func (s Sample) RTT() time.Duration { return s.T4.Sub(s.T1) - s.T3.Sub(s.T2) }

// Probe sends one probe, sent at t1 on the terminal's clock, and returns the controller's
// receive and send times.
type Probe func(ctx context.Context, t1 time.Time) (t2, t3 time.Time, err error)

// Options tune an Estimator; zero values take the defaults shown.
type Options struct {
	Now      func() time.Time // the terminal's clock: time.Now
	Burst    int              // probes at start, to converge before the first broadcast: 20
	BurstGap time.Duration    // between burst probes: 25 ms
	Fill     time.Duration    // between probes after the burst until Window probes are in: Every/4
	Every    time.Duration    // between probes once the window is full: 1 s
	Window   int              // recent probes the estimate uses: 64
	Timeout  time.Duration    // for one probe: 2 s
	Log      *slog.Logger
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Burst <= 0 {
		o.Burst = 20
	}
	if o.BurstGap <= 0 {
		o.BurstGap = 25 * time.Millisecond
	}
	if o.Every <= 0 {
		o.Every = time.Second
	}
	if o.Fill <= 0 {
		o.Fill = o.Every / 4
	}
	if o.Window <= 0 {
		o.Window = 64
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Estimate is the current view of the controller's clock.
type Estimate struct {
	Offset  time.Duration // controller − terminal
	Bound   time.Duration // the true offset is within Offset ± Bound
	Samples int           // probes that agree with it
}

// Estimator keeps the recent probes and the estimate they give. Until the first probe
// returns it knows nothing and treats the two clocks as equal.
type Estimator struct {
	probe Probe
	o     Options

	mu       sync.Mutex
	samples  []Sample // oldest first, at most o.Window
	est      Estimate
	have     bool
	first    chan struct{} // closed when the first probe has returned
	failures int
}

// New returns an estimator that probes with probe once Run is called.
func New(probe Probe, o Options) *Estimator {
	o.defaults()
	return &Estimator{probe: probe, o: o, first: make(chan struct{})}
}

// Run probes until ctx ends: a burst of o.Burst answered probes at start (a first estimate
// within a second), then one every o.Fill until the window is full (the estimate tightens as
// the fastest trips accumulate: at 20 ms of jitter, from about ±2 ms after the burst to a few
// hundred µs), then one every o.Every. A probe that fails waits o.Every before the next, so a
// controller that is not up yet is not hammered.
func (e *Estimator) Run(ctx context.Context) {
	for ok := 0; ok < e.o.Burst; {
		gap := e.o.Every
		if e.probeOnce(ctx) {
			ok, gap = ok+1, e.o.BurstGap
		}
		if !sleep(ctx, gap) {
			return
		}
	}
	for e.held() < e.o.Window {
		gap := e.o.Every
		if e.probeOnce(ctx) {
			gap = e.o.Fill
		}
		if !sleep(ctx, gap) {
			return
		}
	}
	t := time.NewTicker(e.o.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.probeOnce(ctx)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// probeOnce makes one probe and reports whether it was answered.
func (e *Estimator) probeOnce(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	defer cancel()
	t1 := e.o.Now()
	t2, t3, err := e.probe(pctx, t1)
	t4 := e.o.Now()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		e.mu.Lock()
		e.failures++
		n := e.failures
		e.mu.Unlock()
		// A controller that is starting is normal; one silent for a minute is worth a warning
		// (once a minute: a fleet simulator runs thousands of these).
		if n%60 == 0 {
			e.o.Log.Warn("clock probes failing", "failures", n, "err", err)
		} else {
			e.o.Log.Debug("clock probe failed", "err", err)
		}
		return false
	}
	if err := e.Add(Sample{T1: t1, T2: t2, T3: t3, T4: t4}); err != nil {
		e.o.Log.Warn("clock probe refused", "err", err)
		return false
	}
	return true
}

// held is how many probes the window holds.
func (e *Estimator) held() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.samples)
}

// ErrImpossible is a sample whose timestamps cannot come from a real exchange.
var ErrImpossible = errors.New("clock: impossible probe (answered before it was asked, or held a negative time)")

// Add takes one probe's timestamps and updates the estimate.
func (e *Estimator) Add(s Sample) error {
	if _, _, ok := s.bounds(); !ok {
		return ErrImpossible
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.samples = append(e.samples, s)
	if len(e.samples) > e.o.Window {
		e.samples = append(e.samples[:0], e.samples[len(e.samples)-e.o.Window:]...)
	}
	e.est, e.samples = estimate(e.samples)
	if !e.have {
		e.have = true
		close(e.first)
	}
	e.failures = 0
	return nil
}

// estimate intersects the samples' bounds from the newest back, stopping at the first that
// disagrees with the newer ones (a clock step); it returns the estimate and the samples that
// agree, so the disagreeing ones are dropped for good.
func estimate(samples []Sample) (Estimate, []Sample) {
	var lo, hi time.Duration
	n := 0
	for i := len(samples) - 1; i >= 0; i-- {
		l, h, _ := samples[i].bounds()
		if n == 0 {
			lo, hi = l, h
		} else {
			nl, nh := max(lo, l), min(hi, h)
			if nl > nh {
				samples = samples[i+1:]
				break
			}
			lo, hi = nl, nh
		}
		n++
	}
	return Estimate{Offset: lo + (hi-lo)/2, Bound: (hi - lo) / 2, Samples: n}, samples
}

// Current returns the estimate and whether any probe has returned yet.
func (e *Estimator) Current() (Estimate, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.est, e.have
}

// Synced is closed once the first probe has returned.
func (e *Estimator) Synced() <-chan struct{} { return e.first }

// ToLocal converts an instant on the controller's clock to the terminal's clock.
func (e *Estimator) ToLocal(controller time.Time) time.Time {
	est, _ := e.Current()
	return controller.Add(-est.Offset)
}

// ControllerNow is the terminal's best idea of the controller's clock now.
func (e *Estimator) ControllerNow() time.Time {
	est, _ := e.Current()
	return e.o.Now().Add(est.Offset)
}
