package clock

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"
)

// link simulates probes over a network: the controller's clock is the terminal's plus offset;
// each direction takes base plus a random jitter.
type link struct {
	rng        *rand.Rand
	offset     time.Duration
	base       time.Duration
	up, down   time.Duration // jitter bounds per direction
	outlierP   float64       // chance that a direction is held back a further outlier
	outlier    time.Duration
	terminalAt time.Time
}

func (l *link) delay(j time.Duration) time.Duration {
	d := l.base
	if j > 0 {
		d += time.Duration(l.rng.Int64N(int64(j)))
	}
	if l.outlierP > 0 && l.rng.Float64() < l.outlierP {
		d += l.outlier
	}
	return d
}

// sample makes one probe and moves the terminal's clock on by a second.
func (l *link) sample() Sample {
	t1 := l.terminalAt
	t2 := t1.Add(l.offset + l.delay(l.up))
	t3 := t2.Add(50 * time.Microsecond)
	t4 := t3.Add(-l.offset + l.delay(l.down))
	l.terminalAt = l.terminalAt.Add(time.Second)
	return Sample{T1: t1, T2: t2, T3: t3, T4: t4}
}

func newLink(seed uint64, offset, up, down time.Duration) *link {
	return &link{rng: rand.New(rand.NewPCG(seed, 7)), offset: offset, base: 80 * time.Microsecond, up: up, down: down,
		terminalAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

// snapcastMedian is Snapcast's filter, for comparison: the median of the probes' midpoints.
func snapcastMedian(ss []Sample) time.Duration {
	var mids []time.Duration
	for _, s := range ss {
		lo, hi, _ := s.bounds()
		mids = append(mids, lo+(hi-lo)/2)
	}
	sort.Slice(mids, func(i, j int) bool { return mids[i] < mids[j] })
	return mids[len(mids)/2]
}

// run feeds n probes over l to a fresh estimator; it returns the estimator's error, the
// median filter's, and the estimate.
func run(t *testing.T, l *link, n int) (errOurs, errMedian time.Duration, est Estimate) {
	t.Helper()
	e := New(nil, Options{})
	var ss []Sample
	for range n {
		s := l.sample()
		ss = append(ss, s)
		if err := e.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	est, ok := e.Current()
	if !ok {
		t.Fatal("no estimate after probes")
	}
	if abs(est.Offset-l.offset) > est.Bound {
		t.Fatalf("true offset %v outside the estimate %v ± %v", l.offset, est.Offset, est.Bound)
	}
	return abs(est.Offset - l.offset), abs(snapcastMedian(ss[max(0, len(ss)-200):]) - l.offset), est
}

func TestEstimateUnderSymmetricJitter(t *testing.T) {
	// 20 ms of jitter each way, terminals up to 2 s off: the error after the start burst and
	// after a minute of probing, worst of 300 terminals.
	for _, tc := range []struct {
		probes int
		worst  time.Duration
	}{{20, 4 * time.Millisecond}, {64, 1500 * time.Microsecond}} {
		var worst time.Duration
		for seed := range uint64(300) {
			off := time.Duration(int64(seed)*13_333_337%4_000_000_000) - 2*time.Second
			e, _, _ := run(t, newLink(seed, off, 20*time.Millisecond, 20*time.Millisecond), tc.probes)
			worst = max(worst, e)
		}
		t.Logf("%d probes: worst error %v of 300 terminals", tc.probes, worst)
		if worst > tc.worst {
			t.Errorf("%d probes: worst error %v, want at most %v", tc.probes, worst, tc.worst)
		}
	}
}

// With jitter on one direction only, the median of midpoints is biased by a quarter of the
// jitter; the intersection is not.
func TestEstimateUnderOneSidedJitterBeatsMedian(t *testing.T) {
	var worstOurs, bestMedian time.Duration = 0, time.Hour
	for seed := range uint64(100) {
		ours, median, _ := run(t, newLink(seed, 1734*time.Millisecond, 20*time.Millisecond, 0), 64)
		worstOurs, bestMedian = max(worstOurs, ours), min(bestMedian, median)
	}
	t.Logf("one-sided 20 ms jitter, 64 probes: worst error %v; Snapcast's median at best %v", worstOurs, bestMedian)
	if worstOurs > time.Millisecond {
		t.Errorf("worst error %v, want under 1 ms", worstOurs)
	}
	if bestMedian < 3*time.Millisecond {
		t.Errorf("the median filter came within %v: this test no longer shows the bias it is about", bestMedian)
	}
}

func TestOutliersDoNotMoveTheEstimate(t *testing.T) {
	l := newLink(42, -1200*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond)
	l.outlierP, l.outlier = 0.2, 700*time.Millisecond // a fifth of the trips stuck behind a transfer
	errOurs, errMedian, est := run(t, l, 64)
	t.Logf("20%% outliers of 700 ms: error %v (± %v), median filter %v", errOurs, est.Bound, errMedian)
	if errOurs > 2*time.Millisecond {
		t.Errorf("error %v with outliers, want under 2 ms", errOurs)
	}
}

// A terminal whose clock is stepped (NTP, a battery-less board getting its time) has older
// probes that disagree with the newer: the estimate follows the step.
func TestFollowsAClockStep(t *testing.T) {
	l := newLink(9, 500*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond)
	e := New(nil, Options{})
	for range 40 {
		e.Add(l.sample())
	}
	l.offset -= 300 * time.Millisecond // the terminal's clock jumped 300 ms ahead
	e.Add(l.sample())
	est, _ := e.Current()
	if d := abs(est.Offset - l.offset); d > 25*time.Millisecond {
		t.Fatalf("one probe after a 300 ms step: error %v (estimate %v ± %v), want within one round trip", d, est.Offset, est.Bound)
	}
	for range 30 {
		e.Add(l.sample())
	}
	est, _ = e.Current()
	if d := abs(est.Offset - l.offset); d > 3*time.Millisecond {
		t.Fatalf("30 probes after the step: error %v, want under 3 ms", d)
	}
	if est.Samples > 31 {
		t.Fatalf("estimate uses %d probes, some from before the step", est.Samples)
	}
}

func TestImpossibleSampleRefused(t *testing.T) {
	e := New(nil, Options{})
	at := time.Now()
	// answered 5 ms before it was asked, although the controller held it 10 ms
	err := e.Add(Sample{T1: at, T2: at, T3: at.Add(10 * time.Millisecond), T4: at.Add(5 * time.Millisecond)})
	if !errors.Is(err, ErrImpossible) {
		t.Fatalf("got %v, want ErrImpossible", err)
	}
	if _, ok := e.Current(); ok {
		t.Fatal("an impossible probe produced an estimate")
	}
}

// Run probes through a transport that behaves like the gRPC one: the controller's clock is
// real time, the terminal's is 1.5 s behind, each direction sleeps a random 0-5 ms.
func TestRunConvergesThroughATransport(t *testing.T) {
	const skew = -1500 * time.Millisecond
	now := func() time.Time { return time.Now().Add(skew) }
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	jitter := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(rng.Int64N(int64(5 * time.Millisecond)))
	}
	probes := 0
	probe := func(ctx context.Context, _ time.Time) (time.Time, time.Time, error) {
		mu.Lock()
		probes++
		mu.Unlock()
		time.Sleep(jitter())
		t2 := time.Now()
		t3 := time.Now()
		time.Sleep(jitter())
		return t2, t3, ctx.Err()
	}
	e := New(probe, Options{Now: now, Burst: 10, BurstGap: time.Millisecond, Every: 20 * time.Millisecond})
	if got := e.ToLocal(time.Unix(1000, 0)); !got.Equal(time.Unix(1000, 0)) {
		t.Fatalf("before any probe ToLocal moved the time to %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case <-e.Synced():
	case <-time.After(5 * time.Second):
		t.Fatal("not synced after 5 s")
	}
	time.Sleep(500 * time.Millisecond)
	est, _ := e.Current()
	if d := abs(est.Offset + skew); d > 2*time.Millisecond { // controller − terminal = −skew
		t.Fatalf("offset %v ± %v, want %v within 2 ms", est.Offset, est.Bound, -skew)
	}
	at := time.Now().Add(time.Second) // an instant on the controller's clock
	if d := abs(e.ToLocal(at).Sub(at.Add(skew))); d > 2*time.Millisecond {
		t.Fatalf("ToLocal off by %v", d)
	}
	if d := abs(e.ControllerNow().Sub(time.Now())); d > 2*time.Millisecond {
		t.Fatalf("ControllerNow off by %v", d)
	}
	mu.Lock()
	n := probes
	mu.Unlock()
	if n < 15 {
		t.Fatalf("only %d probes in 0.5 s after a 10-probe burst at 20 ms", n)
	}
}

func TestRunSurvivesFailingProbes(t *testing.T) {
	probe := func(ctx context.Context, _ time.Time) (time.Time, time.Time, error) {
		return time.Time{}, time.Time{}, errors.New("unimplemented")
	}
	e := New(probe, Options{Burst: 3, BurstGap: time.Millisecond, Every: 5 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	e.Run(ctx)
	if _, ok := e.Current(); ok {
		t.Fatal("an estimate from failed probes")
	}
	at := time.Unix(2000, 0)
	if !e.ToLocal(at).Equal(at) {
		t.Fatal("ToLocal moved time without any probe")
	}
}
