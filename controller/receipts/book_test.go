package receipts

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
)

// lockedBuffer collects the book's log so a test can fail on store errors it logged.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const programID = "0f343b0931126a20f133d67c2b018a3b5e0d1f9a6b1c3f6e0e8ab4f0b6f0a8c1"

// newBook opens a real store in a temporary directory, with one program to broadcast.
func newBook(t *testing.T) (*Book, *store.DB) {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`INSERT INTO programs (id, bytes, source, created_ms) VALUES (?, 32000, 'chime.wav', 1)`, programID); err != nil {
		t.Fatalf("insert program: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var log lockedBuffer
	bk := NewBook(ctx, db, slog.New(slog.NewTextHandler(&log, nil)))
	t.Cleanup(cancel)
	t.Cleanup(func() {
		flush(t, bk)
		if s := log.String(); strings.Contains(s, "level=ERROR") {
			t.Errorf("the book logged errors:\n%s", s)
		}
	})
	return bk, db
}

// now is a broadcast creation time the store keeps exactly (milliseconds).
func now() time.Time { return time.UnixMilli(time.Now().UnixMilli()) }

// The program: one second of system-format audio, peaking at half of full scale.
const (
	programBytes    = 32000
	programDuration = time.Second
	programPeak     = 0.5
)

func broadcast(id string, created time.Time, valid time.Duration) Broadcast {
	return Broadcast{ID: id, Title: "山洪预警", Targets: "village:361126104201,terminal:t013", ProgramID: programID,
		Priority: 2, CreatedAt: created, ValidUntil: created.Add(valid),
		ProgramBytes: programBytes, ProgramDuration: programDuration, ProgramPeak: programPeak}
}

// played is a proof of play that holds for the program.
func played() *dalabapb.PlayReport {
	end := time.Now().UnixMilli()
	return &dalabapb.PlayReport{Bytes: programBytes, DurationMs: programDuration.Milliseconds(), Peak: 0.45,
		Rms: 0.12, Volume: 80, StartedUnixMs: end - programDuration.Milliseconds(), EndedUnixMs: end, LateUs: 870, FramesConcealed: 3}
}

// flush waits for the store writer, failing the test rather than hanging if it never catches up.
func flush(t *testing.T, bk *Book) {
	t.Helper()
	done := make(chan struct{})
	go func() { bk.Flush(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Flush did not return: the store writer is stuck")
	}
}

// fourTargets are three online terminals and one that was offline when the broadcast went out.
var fourTargets = []Target{
	{Terminal: "t001", Village: "361126104201", Online: true},
	{Terminal: "t002", Village: "361126104201", Online: true},
	{Terminal: "t013", Village: "361126104202", Online: true},
	{Terminal: "t004", Village: "361126104201", Online: false},
}

var online = []string{"t001", "t002", "t013"}

func mustOpen(t *testing.T, bk *Book, b Broadcast, targets []Target) {
	t.Helper()
	if err := bk.Open(context.Background(), b, targets); err != nil {
		t.Fatalf("Open(%s): %v", b.ID, err)
	}
}

// report is a terminal's receipt; a done carries a proof of play that holds.
func report(terminal, broadcast string, s dalabapb.ReceiptState) *dalabapb.Receipt {
	r := &dalabapb.Receipt{TerminalId: terminal, BroadcastId: broadcast, State: s, AtUnixMs: time.Now().UnixMilli()}
	if s == dalabapb.ReceiptState_RECEIPT_STATE_DONE {
		r.Played = played()
	}
	return r
}

func failure(terminal, broadcast string, r dalabapb.FailureReason, detail string) *dalabapb.Receipt {
	rep := report(terminal, broadcast, dalabapb.ReceiptState_RECEIPT_STATE_FAILED)
	rep.Reason, rep.Detail = r, detail
	return rep
}

// storedAsInMemory waits for the store writer and wants broadcast id stored as the book holds it.
func storedAsInMemory(t *testing.T, bk *Book, db *store.DB, id string) {
	t.Helper()
	flush(t, bk)
	stored, err := Load(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, stored, snapshot(t, bk, id))
}

func mustApply(t *testing.T, bk *Book, r *dalabapb.Receipt) {
	t.Helper()
	if err := bk.Apply(r, r.GetTerminalId()); err != nil {
		t.Fatalf("Apply(%v): %v", r, err)
	}
}

func snapshot(t *testing.T, bk *Book, id string) Summary {
	t.Helper()
	s, ok := bk.Snapshot(id)
	if !ok {
		t.Fatalf("Snapshot(%s): not open", id)
	}
	return s
}

func receiptOf(t *testing.T, s Summary, terminal string) Receipt {
	t.Helper()
	for _, r := range s.Receipts {
		if r.Terminal == terminal {
			return r
		}
	}
	t.Fatalf("no receipt for %s in %s", terminal, s.ID)
	return Receipt{}
}

// checkCounts compares every state's count; unspecified states must be zero.
func checkCounts(t *testing.T, s Summary, want Counts) {
	t.Helper()
	for _, st := range States {
		if s.Counts[st] != want[st] {
			t.Errorf("%s: counts %v, want %v", s.ID, s.Counts, want)
			return
		}
	}
	// The counts agree with the receipts themselves.
	recount := Counts{}
	for _, r := range s.Receipts {
		recount[r.State]++
	}
	for _, st := range States {
		if recount[st] != s.Counts[st] {
			t.Errorf("%s: counts %v disagree with the receipts %v", s.ID, s.Counts, recount)
			return
		}
	}
}

var wireStates = []struct {
	wire  dalabapb.ReceiptState
	state State
}{
	{dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED, Received},
	{dalabapb.ReceiptState_RECEIPT_STATE_FETCHED, Fetched},
	{dalabapb.ReceiptState_RECEIPT_STATE_PLAYING, Playing},
	{dalabapb.ReceiptState_RECEIPT_STATE_DONE, Done},
}

func TestBookLifecycle(t *testing.T) {
	bk, db := newBook(t)
	b := broadcast("b1", now(), time.Minute)
	mustOpen(t, bk, b, fourTargets)

	s := snapshot(t, bk, "b1")
	if s.State != StateActive || s.Broadcast != b {
		t.Errorf("after Open: state %q, broadcast %+v", s.State, s.Broadcast)
	}
	checkCounts(t, s, Counts{Pending: 3, Offline: 1})
	if r := receiptOf(t, s, "t004"); r.State != Offline || r.Village != "361126104201" || !r.UpdatedAt.Equal(b.CreatedAt) {
		t.Errorf("offline target's receipt = %+v", r)
	}
	// Open writes through at once: the store has the broadcast and its targets.
	stored, err := Load(context.Background(), db, "b1")
	if err != nil {
		t.Fatalf("Load right after Open: %v", err)
	}
	sameSummary(t, stored, s)

	for _, step := range wireStates {
		for i, id := range online {
			mustApply(t, bk, report(id, "b1", step.wire))
			s := snapshot(t, bk, "b1")
			want := Counts{Offline: 1}
			want[step.state] = i + 1
			if step.state == Received {
				want[Pending] = 3 - (i + 1)
			} else {
				want[wireStates[indexOf(step.state)-1].state] = 3 - (i + 1)
			}
			checkCounts(t, s, want)
			finished := step.state == Done && i == len(online)-1
			if got := s.State == StateFinished; got != finished {
				t.Errorf("after %s from %s: broadcast state %q", step.state, id, s.State)
			}
		}
	}
	s = snapshot(t, bk, "b1")
	for _, id := range online {
		r := receiptOf(t, s, id)
		if r.State != Done || r.ReceivedAt.IsZero() || r.FetchedAt.Before(r.ReceivedAt) ||
			r.PlayingAt.Before(r.FetchedAt) || r.DoneAt.Before(r.PlayingAt) || !r.UpdatedAt.Equal(r.DoneAt) {
			t.Errorf("receipt of %s = %+v, want done with ordered times", id, r)
		}
	}
	if r := receiptOf(t, s, "t004"); r.State != Offline {
		t.Errorf("offline target became %s", r.State)
	}
}

func indexOf(s State) int {
	for i, w := range wireStates {
		if w.state == s {
			return i
		}
	}
	return -1
}

func TestOpen(t *testing.T) {
	t.Run("all targets offline finishes at once", func(t *testing.T) {
		bk, db := newBook(t)
		b := broadcast("b-off", now(), time.Minute)
		mustOpen(t, bk, b, []Target{{Terminal: "t001", Village: "361126104201"}, {Terminal: "t002", Village: "361126104201"}})
		s := snapshot(t, bk, "b-off")
		if s.State != StateFinished {
			t.Errorf("state %q, want finished", s.State)
		}
		checkCounts(t, s, Counts{Offline: 2})
		flush(t, bk)
		stored, err := Load(context.Background(), db, "b-off")
		if err != nil {
			t.Fatal(err)
		}
		sameSummary(t, stored, s)
	})
	t.Run("duplicate id is refused and the first stays", func(t *testing.T) {
		bk, db := newBook(t)
		b := broadcast("b1", now(), time.Minute)
		mustOpen(t, bk, b, fourTargets)
		mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
		before := snapshot(t, bk, "b1")
		again := broadcast("b1", now(), time.Hour)
		if err := bk.Open(context.Background(), again, []Target{{Terminal: "t099", Online: true}}); err == nil {
			t.Fatalf("a second Open of b1 succeeded")
		}
		if after := snapshot(t, bk, "b1"); !reflect.DeepEqual(after, before) {
			t.Errorf("second Open changed b1:\n got %+v\nwant %+v", after, before)
		}
		flush(t, bk)
		stored, err := Load(context.Background(), db, "b1")
		if err != nil {
			t.Fatal(err)
		}
		sameSummary(t, stored, before)
	})
	t.Run("unknown program stores nothing", func(t *testing.T) {
		bk, db := newBook(t)
		b := broadcast("b-noprog", now(), time.Minute)
		b.ProgramID = "missing"
		if err := bk.Open(context.Background(), b, fourTargets); err == nil {
			t.Fatalf("Open with an unknown program succeeded")
		}
		if _, ok := bk.Snapshot("b-noprog"); ok {
			t.Errorf("a failed Open left the broadcast in memory")
		}
		if _, err := Load(context.Background(), db, "b-noprog"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Load after a failed Open = %v, want ErrNotFound", err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM receipts WHERE broadcast_id='b-noprog'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d receipts stored for a failed Open (%v)", n, err)
		}
	})
}

func TestAwait(t *testing.T) {
	bk, _ := newBook(t)
	mustOpen(t, bk, broadcast("b1", now(), time.Minute), fourTargets)

	t.Run("returns at once when the condition already holds", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := bk.Await(ctx, "b1", func(_ string, c Counts) bool { return c[Pending] == 3 })
		if err != nil || s.ID != "b1" {
			t.Fatalf("Await = %+v, %v", s, err)
		}
	})

	t.Run("returns as soon as the condition holds", func(t *testing.T) {
		release := make(chan struct{})
		errs := make(chan error, 3)
		go func() {
			for i, id := range online {
				if i == 2 {
					<-release // the third report waits until Await has returned
				}
				errs <- bk.Apply(report(id, "b1", dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED), id)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := bk.Await(ctx, "b1", func(_ string, c Counts) bool { return c[Received] >= 2 })
		close(release)
		if err != nil {
			t.Fatalf("Await: %v", err)
		}
		if ctx.Err() != nil {
			t.Errorf("Await returned only when its context ended, not when the condition came to hold")
		}
		checkCounts(t, s, Counts{Received: 2, Pending: 1, Offline: 1})
		for range online {
			if err := <-errs; err != nil {
				t.Errorf("Apply: %v", err)
			}
		}
	})

	t.Run("wakes for the broadcast finishing", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			time.Sleep(20 * time.Millisecond)
			for _, id := range online {
				if err := bk.Apply(report(id, "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE), id); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := bk.Await(ctx, "b1", func(state string, _ Counts) bool { return state == StateFinished })
		if err != nil {
			t.Fatalf("Await: %v", err)
		}
		if ctx.Err() != nil {
			t.Errorf("Await returned only when its context ended, not when the broadcast finished")
		}
		if s.State != StateFinished {
			t.Errorf("Await returned state %q", s.State)
		}
		checkCounts(t, s, Counts{Done: 3, Offline: 1})
		if err := <-done; err != nil {
			t.Errorf("Apply: %v", err)
		}
	})

	t.Run("returns the context's error on timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		s, err := awaitWithin(t, 5*time.Second, func() (Summary, error) {
			return bk.Await(ctx, "b1", func(string, Counts) bool { return false })
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Await = %v, want context.DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited < 40*time.Millisecond || waited > 5*time.Second {
			t.Errorf("Await returned after %v, want about 50ms", waited)
		}
		if s.ID != "b1" || s.State != StateFinished {
			t.Errorf("Await on timeout returned %+v, want the current summary", s)
		}
	})

	t.Run("returns on cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		_, err := awaitWithin(t, 5*time.Second, func() (Summary, error) {
			return bk.Await(ctx, "b1", func(string, Counts) bool { return false })
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Await = %v, want context.Canceled", err)
		}
	})

	t.Run("unknown broadcast", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := bk.Await(ctx, "nope", func(string, Counts) bool { return true }); !errors.Is(err, ErrUnknownBroadcast) {
			t.Fatalf("Await(unknown) = %v, want ErrUnknownBroadcast", err)
		}
	})
}

// awaitWithin runs await and fails the test if it has not returned within limit.
func awaitWithin(t *testing.T, limit time.Duration, await func() (Summary, error)) (Summary, error) {
	t.Helper()
	type result struct {
		s   Summary
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := await()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(limit):
		t.Fatalf("Await did not return within %v", limit)
		return Summary{}, nil
	}
}

func TestApplyRejects(t *testing.T) {
	const (
		recv = dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED
		done = dalabapb.ReceiptState_RECEIPT_STATE_DONE
	)
	tests := []struct {
		name string
		r    *dalabapb.Receipt
		from string
		want error
	}{
		{"unknown broadcast", report("t001", "b-nope", recv), "t001", ErrUnknownBroadcast},
		{"terminal not targeted", report("t099", "b1", recv), "t099", ErrNotATarget},
		{"terminal id differs from topic", report("t001", "b1", recv), "t002", ErrBadReceipt},
		{"terminal id empty", report("", "b1", recv), "t001", ErrBadReceipt},
		{"unspecified state", report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_UNSPECIFIED), "t001", ErrBadReceipt},
		{"unknown state", report("t001", "b1", dalabapb.ReceiptState(9)), "t001", ErrBadReceipt},
		{"no broadcast id", report("t001", "", recv), "t001", ErrBadReceipt},
		{"nil receipt", nil, "t001", ErrBadReceipt},
		{"proof with NaN peak", withProof(report("t001", "b1", done), func(p *dalabapb.PlayReport) { p.Peak = math.NaN() }), "t001", ErrBadReceipt},
		{"proof with infinite rms", withProof(report("t001", "b1", done), func(p *dalabapb.PlayReport) { p.Rms = math.Inf(1) }), "t001", ErrBadReceipt},
		{"proof with negative volume", withProof(report("t001", "b1", done), func(p *dalabapb.PlayReport) { p.Volume = -1 }), "t001", ErrBadReceipt},
		{"failure with NaN proof", withProof(failure("t002", "b1", dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, ""),
			func(p *dalabapb.PlayReport) { p.Rms = math.NaN() }), "t002", ErrBadReceipt},
	}
	bk, db := newBook(t)
	mustOpen(t, bk, broadcast("b1", now(), time.Minute), fourTargets)
	mustApply(t, bk, report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_FETCHED))
	flush(t, bk)
	before := snapshot(t, bk, "b1")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := bk.Apply(tc.r, tc.from)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrUnknownBroadcast, ErrNotATarget, ErrBadReceipt} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("Apply = %v, also matches %v", err, other)
				}
			}
			if after := snapshot(t, bk, "b1"); !reflect.DeepEqual(after, before) {
				t.Errorf("a rejected report changed the broadcast:\n got %+v\nwant %+v", after, before)
			}
		})
	}
	flush(t, bk)
	stored, err := Load(context.Background(), db, "b1")
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, stored, before)
}

// withProof edits the receipt's proof of play, adding one if it has none.
func withProof(r *dalabapb.Receipt, edit func(*dalabapb.PlayReport)) *dalabapb.Receipt {
	if r.Played == nil {
		r.Played = played()
	}
	edit(r.Played)
	return r
}

func TestApplyIdempotent(t *testing.T) {
	bk, _ := newBook(t)
	mustOpen(t, bk, broadcast("b1", now(), time.Minute), fourTargets)
	steps := []struct {
		terminal string
		state    dalabapb.ReceiptState
	}{
		{"t001", dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED},
		{"t001", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING},
		{"t002", dalabapb.ReceiptState_RECEIPT_STATE_DONE},
	}
	for _, st := range steps {
		mustApply(t, bk, report(st.terminal, "b1", st.state))
	}
	once := snapshot(t, bk, "b1")
	checkCounts(t, once, Counts{Playing: 1, Done: 1, Pending: 1, Offline: 1})
	// MQTT delivers at least once, and may reorder: repeats and stale reports change nothing.
	time.Sleep(2 * time.Millisecond) // a changed UpdatedAt would show
	for _, st := range steps {
		mustApply(t, bk, report(st.terminal, "b1", st.state))
	}
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_FETCHED))
	mustApply(t, bk, report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	mustApply(t, bk, failure("t002", "b1", dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "late"))
	if twice := snapshot(t, bk, "b1"); !reflect.DeepEqual(twice, once) {
		t.Errorf("repeated reports changed the broadcast:\n got %+v\nwant %+v", twice, once)
	}
}

func TestTerminalOffline(t *testing.T) {
	bk, db := newBook(t)
	mustOpen(t, bk, broadcast("b1", now(), time.Minute), fourTargets)
	mustOpen(t, bk, broadcast("b2", now(), time.Minute), []Target{
		{Terminal: "t001", Village: "361126104201", Online: true},
		{Terminal: "t013", Village: "361126104202", Online: true},
	})
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	mustApply(t, bk, report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, bk, report("t013", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, bk, report("t013", "b2", dalabapb.ReceiptState_RECEIPT_STATE_DONE))

	lost := now().Add(time.Second)
	bk.TerminalOffline("t001", lost)
	for _, id := range []string{"b1", "b2"} {
		s := snapshot(t, bk, id)
		r := receiptOf(t, s, "t001")
		if r.State != Failed || r.Reason != Disconnected || !r.UpdatedAt.Equal(lost) {
			t.Errorf("%s: t001 after going offline = %+v, want failed/disconnected at %v", id, r, lost)
		}
		if s.State != StateFinished {
			t.Errorf("%s: state %q, want finished: every target is final", id, s.State)
		}
	}
	checkCounts(t, snapshot(t, bk, "b1"), Counts{Failed: 1, Done: 2, Offline: 1})
	checkCounts(t, snapshot(t, bk, "b2"), Counts{Failed: 1, Done: 1})

	// Final receipts are left alone: a done terminal or an offline target going away again.
	before := snapshot(t, bk, "b1")
	bk.TerminalOffline("t002", lost)
	bk.TerminalOffline("t004", lost)
	bk.TerminalOffline("t001", lost.Add(time.Second))
	bk.TerminalOffline("t099", lost)
	if after := snapshot(t, bk, "b1"); !reflect.DeepEqual(after, before) {
		t.Errorf("TerminalOffline of final receipts changed b1:\n got %+v\nwant %+v", after, before)
	}

	// The terminal comes back and says it did finish: its word overrules the verdict.
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	s := snapshot(t, bk, "b1")
	if r := receiptOf(t, s, "t001"); r.State != Done || r.Reason != NoReason || r.DoneAt.IsZero() {
		t.Errorf("t001 after its late done = %+v", r)
	}
	checkCounts(t, s, Counts{Done: 3, Offline: 1})
	if s.State != StateFinished {
		t.Errorf("b1 state %q after the overrule, want finished", s.State)
	}
	// b2 still holds the verdict; the terminal's own failure there replaces it.
	mustApply(t, bk, failure("t001", "b2", dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "agent restarted"))
	if r := receiptOf(t, snapshot(t, bk, "b2"), "t001"); r.State != Failed || r.Reason != Interrupted || r.Detail != "agent restarted" {
		t.Errorf("b2: t001 = %+v, want failed/interrupted", r)
	}

	flush(t, bk)
	for _, id := range []string{"b1", "b2"} {
		stored, err := Load(context.Background(), db, id)
		if err != nil {
			t.Fatal(err)
		}
		sameSummary(t, stored, snapshot(t, bk, id))
	}
}

func TestTerminalOfflineWhilePending(t *testing.T) {
	bk, _ := newBook(t)
	mustOpen(t, bk, broadcast("b1", now(), time.Minute), fourTargets)
	bk.TerminalOffline("t002", now())
	s := snapshot(t, bk, "b1")
	if r := receiptOf(t, s, "t002"); r.State != Failed || r.Reason != Disconnected {
		t.Errorf("pending t002 after going offline = %+v", r)
	}
	checkCounts(t, s, Counts{Pending: 2, Failed: 1, Offline: 1})
	if s.State != StateActive {
		t.Errorf("state %q, want active: two targets are still pending", s.State)
	}
}

func TestSweep(t *testing.T) {
	bk, db := newBook(t)
	created := now()
	b := broadcast("b1", created, time.Minute)
	mustOpen(t, bk, b, fourTargets)
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, bk, report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	// t013 stays silent.
	const keep = 10 * time.Minute

	before := snapshot(t, bk, "b1")
	bk.Sweep(b.ValidUntil, keep) // not after the window yet
	if after := snapshot(t, bk, "b1"); !reflect.DeepEqual(after, before) {
		t.Fatalf("Sweep inside the window changed the broadcast:\n got %+v\nwant %+v", after, before)
	}

	closed := b.ValidUntil.Add(time.Millisecond)
	bk.Sweep(closed, keep)
	s := snapshot(t, bk, "b1")
	if s.State != StateFinished {
		t.Errorf("after the window: state %q, want finished", s.State)
	}
	checkCounts(t, s, Counts{Done: 1, Failed: 2, Offline: 1})
	for _, id := range []string{"t002", "t013"} {
		if r := receiptOf(t, s, id); r.State != Failed || r.Reason != NoReport || !r.UpdatedAt.Equal(closed) {
			t.Errorf("%s after the window = %+v, want failed/no_report at %v", id, r, closed)
		}
	}
	if r := receiptOf(t, s, "t004"); r.State != Offline {
		t.Errorf("offline target after the window = %+v, want still offline", r)
	}
	if r := receiptOf(t, s, "t001"); r.State != Done {
		t.Errorf("t001 after the window = %+v, want still done", r)
	}

	// A report that arrives late still counts while the broadcast is in memory.
	mustApply(t, bk, report("t013", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	s = snapshot(t, bk, "b1")
	if r := receiptOf(t, s, "t013"); r.State != Done || r.Reason != NoReason {
		t.Errorf("t013 after its late done = %+v", r)
	}
	checkCounts(t, s, Counts{Done: 2, Failed: 1, Offline: 1})

	// It stays in memory for keep after finishing, then leaves; the store still has it.
	bk.Sweep(closed.Add(keep), keep)
	if _, ok := bk.Snapshot("b1"); !ok {
		t.Fatalf("b1 left memory before keep had passed")
	}
	flush(t, bk)
	inMemory := snapshot(t, bk, "b1")
	bk.Sweep(closed.Add(keep+time.Millisecond), keep)
	if _, ok := bk.Snapshot("b1"); ok {
		t.Fatalf("b1 still in memory after keep")
	}
	got, err := bk.Get(context.Background(), "b1")
	if err != nil {
		t.Fatalf("Get after eviction: %v", err)
	}
	if !reflect.DeepEqual(got.Counts, inMemory.Counts) {
		t.Errorf("counts from the store %v, in memory %v", got.Counts, inMemory.Counts)
	}
	if len(got.Receipts) != len(inMemory.Receipts) {
		t.Fatalf("%d receipts from the store, %d in memory", len(got.Receipts), len(inMemory.Receipts))
	}
	for i := range got.Receipts {
		g, m := got.Receipts[i], inMemory.Receipts[i]
		if g.Terminal != m.Terminal || g.State != m.State || g.Reason != m.Reason {
			t.Errorf("receipt %d from the store %s %s/%s, in memory %s %s/%s", i, g.Terminal, g.State, g.Reason,
				m.Terminal, m.State, m.Reason)
		}
	}
	sameSummary(t, got, inMemory)

	// Reports for an evicted broadcast are refused and change nothing stored.
	if err := bk.Apply(report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE), "t002"); !errors.Is(err, ErrUnknownBroadcast) {
		t.Errorf("Apply after eviction = %v, want ErrUnknownBroadcast", err)
	}
	bk.TerminalOffline("t013", closed.Add(time.Hour))
	flush(t, bk)
	again, err := Load(context.Background(), db, "b1")
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, again, inMemory)
}

// A broadcast that finished early stays in memory until its window has closed, so offline
// targets can still catch up.
func TestSweepKeepsUntilWindowCloses(t *testing.T) {
	bk, _ := newBook(t)
	b := broadcast("b1", now(), time.Hour)
	mustOpen(t, bk, b, fourTargets)
	for _, id := range online {
		mustApply(t, bk, report(id, "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	}
	if s := snapshot(t, bk, "b1"); s.State != StateFinished {
		t.Fatalf("state %q, want finished", s.State)
	}
	const keep = time.Minute
	bk.Sweep(b.CreatedAt.Add(30*time.Minute), keep) // finished long ago, but the window is open
	if _, ok := bk.Snapshot("b1"); !ok {
		t.Fatalf("b1 left memory inside its validity window")
	}
	mustApply(t, bk, report("t004", "b1", dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED))
	checkCounts(t, snapshot(t, bk, "b1"), Counts{Done: 3, Received: 1})

	// At the window's end the straggler gets no_report; then the broadcast leaves memory
	// (it finished more than keep ago).
	bk.Sweep(b.ValidUntil.Add(time.Millisecond), keep)
	if _, ok := bk.Snapshot("b1"); ok {
		t.Errorf("b1 still in memory after its window closed")
	}
	flush(t, bk)
	s, err := bk.Get(context.Background(), "b1")
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, Counts{Done: 3, Failed: 1})
	if r := receiptOf(t, s, "t004"); r.Reason != NoReport {
		t.Errorf("t004 = %+v, want failed/no_report", r)
	}
}

func TestPersistence(t *testing.T) {
	bk, db := newBook(t)
	b := broadcast("b1", now(), time.Minute)
	mustOpen(t, bk, b, fourTargets)
	// A reason on a report that is not a failure is noise, not a reason.
	doneWithReason := report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE)
	doneWithReason.Reason = dalabapb.FailureReason_FAILURE_REASON_AUDIO_DEVICE
	mustApply(t, bk, doneWithReason)
	mustApply(t, bk, report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_FETCHED))
	mustApply(t, bk, failure("t013", "b1", dalabapb.FailureReason_FAILURE_REASON_BAD_AUDIO, "sha256 mismatch"))
	flush(t, bk)

	mem := snapshot(t, bk, "b1")
	stored, err := Load(context.Background(), db, "b1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sameSummary(t, stored, mem)
	if r := receiptOf(t, stored, "t013"); r.State != Failed || r.Reason != BadAudio || r.Detail != "sha256 mismatch" {
		t.Errorf("stored t013 = %+v", r)
	}
	if r := receiptOf(t, stored, "t001"); r.State != Done || r.Reason != NoReason {
		t.Errorf("stored t001 = %+v, want done without a reason", r)
	}
	if got, err := bk.Get(context.Background(), "b1"); err != nil || !reflect.DeepEqual(got, mem) {
		t.Errorf("Get of an open broadcast = %+v, %v; want the in-memory summary", got, err)
	}

	// Finishing is stored too.
	mustApply(t, bk, report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	flush(t, bk)
	stored, err = Load(context.Background(), db, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != StateFinished {
		t.Errorf("stored state %q, want finished", stored.State)
	}
	sameSummary(t, stored, snapshot(t, bk, "b1"))
	var finishedMS int64
	if err := db.QueryRow(`SELECT finished_ms FROM broadcasts WHERE id='b1'`).Scan(&finishedMS); err != nil || finishedMS == 0 {
		t.Errorf("finished_ms = %d (%v), want set", finishedMS, err)
	}

	for _, id := range []string{"nope", ""} {
		if _, err := Load(context.Background(), db, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Load(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := bk.Get(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// A town-wide broadcast: every terminal reports four times from its own goroutine.
func TestConcurrentReports(t *testing.T) {
	bk, db := newBook(t)
	var targets []Target
	for i := range 125 {
		targets = append(targets, Target{Terminal: terminalID(i), Village: "361126104201", Online: i%25 != 0})
	}
	mustOpen(t, bk, broadcast("town", now(), time.Minute), targets)
	var wg sync.WaitGroup
	for _, tg := range targets {
		if !tg.Online {
			continue
		}
		wg.Go(func() {
			for _, st := range wireStates {
				if err := bk.Apply(report(tg.Terminal, "town", st.wire), tg.Terminal); err != nil {
					t.Errorf("Apply: %v", err)
				}
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := bk.Await(ctx, "town", func(state string, _ Counts) bool { return state == StateFinished })
	if err != nil {
		t.Fatalf("Await: %v", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Await returned only when its context ended, not when the broadcast finished")
	}
	wg.Wait()
	checkCounts(t, s, Counts{Done: 120, Offline: 5})
	flush(t, bk)
	stored, err := Load(context.Background(), db, "town")
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, stored, snapshot(t, bk, "town"))
}

func terminalID(i int) string {
	return "t" + string(rune('0'+(i+1)/100)) + string(rune('0'+(i+1)/10%10)) + string(rune('0'+(i+1)%10))
}

// sameSummary compares a stored summary with an in-memory one at the store's millisecond
// precision.
func sameSummary(t *testing.T, stored, mem Summary) {
	t.Helper()
	if a, b := normalize(stored), normalize(mem); !reflect.DeepEqual(a, b) {
		t.Errorf("stored summary differs from memory:\nstored %+v\nmemory %+v", a, b)
	}
}

func normalize(s Summary) Summary {
	ms := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return time.UnixMilli(t.UnixMilli())
	}
	out := s
	out.CreatedAt, out.ValidUntil = ms(s.CreatedAt), ms(s.ValidUntil)
	// The program's size and peak are only needed while the broadcast is open (publishing,
	// checking proofs of play); the broadcasts table does not keep them.
	out.ProgramBytes, out.ProgramPeak = 0, 0
	out.Counts = s.Counts.clone()
	out.Receipts = make([]Receipt, len(s.Receipts))
	for i, r := range s.Receipts {
		r.UpdatedAt, r.ReceivedAt, r.FetchedAt, r.PlayingAt, r.DoneAt = ms(r.UpdatedAt), ms(r.ReceivedAt),
			ms(r.FetchedAt), ms(r.PlayingAt), ms(r.DoneAt)
		if r.Played != nil {
			p := *r.Played
			p.Start, p.End = ms(p.Start), ms(p.End)
			r.Played = &p
		}
		out.Receipts[i] = r
	}
	return out
}

// A done is believed only with a proof of play that matches the program; the proof is kept
// with every accepted report and stored.
func TestProofOfPlay(t *testing.T) {
	const done = dalabapb.ReceiptState_RECEIPT_STATE_DONE
	tests := []struct {
		name        string
		silentProg  bool // the program itself is silence
		r           *dalabapb.Receipt
		want        State
		wantReason  Reason
		detail      string // substring of the receipt's detail
		wantNoProof bool
	}{
		{"full play", false, report("t001", "b", done), Done, NoReason, "", false},
		{"short within tolerance", false, withProof(report("t001", "b", done), func(p *dalabapb.PlayReport) { p.DurationMs = 750 }),
			Done, NoReason, "", false},
		{"longer than the program", false, withProof(report("t001", "b", done), func(p *dalabapb.PlayReport) { p.DurationMs = 1400 }),
			Done, NoReason, "", false},
		{"done without proof", false, &dalabapb.Receipt{TerminalId: "t001", BroadcastId: "b", State: done},
			Failed, FailedToSound, "without proof of play", true},
		{"too short", false, withProof(report("t001", "b", done), func(p *dalabapb.PlayReport) { p.DurationMs = 700 }),
			Failed, FailedToSound, "too short: played 0.70 s of 1.00 s", false},
		{"muted", false, withProof(report("t001", "b", done), func(p *dalabapb.PlayReport) { p.Volume = 0; p.Peak = 0 }),
			Failed, FailedToSound, "muted", false},
		{"silent", false, withProof(report("t001", "b", done), func(p *dalabapb.PlayReport) { p.Peak = 0.0005 }),
			Failed, FailedToSound, "silent", false},
		{"silent program played silent", true, withProof(report("t001", "b", done), func(p *dalabapb.PlayReport) { p.Peak = 0 }),
			Done, NoReason, "", false},
		{"interrupted after playback began", false, withProof(failure("t001", "b", dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED, "agent stopped"),
			func(p *dalabapb.PlayReport) { p.DurationMs = 300 }), Failed, Interrupted, "agent stopped", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bk, db := newBook(t)
			b := broadcast("b", now(), time.Minute)
			if tc.silentProg {
				b.ProgramPeak = 0
			}
			mustOpen(t, bk, b, fourTargets)
			mustApply(t, bk, report("t001", "b", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
			mustApply(t, bk, tc.r)
			s := snapshot(t, bk, "b")
			r := receiptOf(t, s, "t001")
			if r.State != tc.want || r.Reason != tc.wantReason || !strings.Contains(r.Detail, tc.detail) {
				t.Errorf("receipt = %s/%q %q, want %s/%q with detail containing %q", r.State, r.Reason, r.Detail,
					tc.want, tc.wantReason, tc.detail)
			}
			if tc.want == Done && r.DoneAt.IsZero() || tc.want != Done && !r.DoneAt.IsZero() {
				t.Errorf("DoneAt = %v for a %s receipt", r.DoneAt, r.State)
			}
			if tc.wantNoProof {
				if r.Played != nil {
					t.Errorf("Played = %+v, want none", r.Played)
				}
			} else {
				p := tc.r.Played
				want := Proof{Bytes: p.Bytes, Duration: Millis(p.DurationMs), Peak: p.Peak, RMS: p.Rms, Volume: p.Volume,
					Start: time.UnixMilli(p.StartedUnixMs), End: time.UnixMilli(p.EndedUnixMs),
					LateUs: p.LateUs, FramesConcealed: p.FramesConcealed}
				if r.Played == nil || *r.Played != want {
					t.Errorf("Played = %+v, want %+v", r.Played, want)
				}
			}
			flush(t, bk)
			stored, err := Load(context.Background(), db, "b")
			if err != nil {
				t.Fatal(err)
			}
			sameSummary(t, stored, s)
		})
	}
}

// The proof travels with whichever report is accepted, also one overruling the controller.
func TestProofKeptWithAcceptedReports(t *testing.T) {
	bk, db := newBook(t)
	mustOpen(t, bk, broadcast("b1", now(), time.Minute), fourTargets)
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	bk.TerminalOffline("t001", now())
	if r := receiptOf(t, snapshot(t, bk, "b1"), "t001"); r.Reason != Disconnected || r.Played != nil {
		t.Fatalf("t001 after going offline = %+v", r)
	}
	first := report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE)
	mustApply(t, bk, first)
	r := receiptOf(t, snapshot(t, bk, "b1"), "t001")
	if r.State != Done || r.Played == nil || r.Played.Volume != first.Played.Volume || r.Played.End.UnixMilli() != first.Played.EndedUnixMs {
		t.Fatalf("t001 after its done overruled the verdict = %+v (proof %+v)", r, r.Played)
	}
	// A repeated done with another proof is ignored, proof and all.
	again := withProof(report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE), func(p *dalabapb.PlayReport) {
		p.Volume, p.EndedUnixMs = 33, first.Played.EndedUnixMs+5000
	})
	mustApply(t, bk, again)
	if got := receiptOf(t, snapshot(t, bk, "b1"), "t001"); !reflect.DeepEqual(got, r) {
		t.Errorf("a repeated done changed the receipt:\n got %+v\nwant %+v", got, r)
	}
	storedAsInMemory(t, bk, db, "b1")
}

// A done handled before its playing (an external broker's messages are taken concurrently)
// still gives the receipt its playing time, from the proof of play; the late playing changes
// nothing.
func TestDoneBeforePlayingKeepsThePlayingTime(t *testing.T) {
	bk, db := newBook(t)
	mustOpen(t, bk, broadcast("b1", now().Add(-10*time.Second), time.Minute), fourTargets)
	done := report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE)
	done.AtUnixMs += 3_600_000 // the terminal's clock is an hour fast: only distances count
	done.Played.StartedUnixMs += 3_600_000
	done.Played.EndedUnixMs += 3_600_000
	mustApply(t, bk, done)
	r := receiptOf(t, snapshot(t, bk, "b1"), "t001")
	wantPlaying := r.DoneAt.Add(-programDuration)
	if r.State != Done || r.PlayingAt.IsZero() || r.PlayingAt.Sub(wantPlaying).Abs() > 20*time.Millisecond {
		t.Fatalf("after done without playing: %+v, want playing at %v (the proof's start, %v before done)", r, wantPlaying, programDuration)
	}
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	if got := receiptOf(t, snapshot(t, bk, "b1"), "t001"); !reflect.DeepEqual(got, r) {
		t.Errorf("the late playing changed the receipt:\n got %+v\nwant %+v", got, r)
	}
	storedAsInMemory(t, bk, db, "b1")
}

// A repeated done that tells a playing time the first could not (its proof began before the
// broadcast existed: a clock gone wrong) fills it in, in memory and in the store alike.
func TestRepeatedReportFillsATimeAndStoresIt(t *testing.T) {
	bk, db := newBook(t)
	mustOpen(t, bk, broadcast("b1", now(), time.Minute), fourTargets)
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE)) // proof from 1 s before: not taken
	if r := receiptOf(t, snapshot(t, bk, "b1"), "t001"); r.State != Done || !r.PlayingAt.IsZero() {
		t.Fatalf("after a done whose proof began before the broadcast: %+v, want done without a playing time", r)
	}
	time.Sleep(20 * time.Millisecond)
	again := report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE)
	again.Played.StartedUnixMs = again.AtUnixMs - 10
	mustApply(t, bk, again)
	r := receiptOf(t, snapshot(t, bk, "b1"), "t001")
	if r.PlayingAt.IsZero() || r.PlayingAt.After(r.DoneAt.Add(time.Second)) {
		t.Fatalf("after the repeated done: %+v, want a playing time", r)
	}
	storedAsInMemory(t, bk, db, "b1")
}

func TestUndelivered(t *testing.T) {
	bk, _ := newBook(t)
	created := now()
	b1 := broadcast("b1", created, time.Minute)
	b2 := broadcast("b2", created, 2*time.Minute)
	mustOpen(t, bk, b1, fourTargets)
	mustOpen(t, bk, b2, []Target{{Terminal: "t001", Village: "361126104201", Online: true},
		{Terminal: "t004", Village: "361126104201", Online: true}})
	mustApply(t, bk, report("t001", "b1", dalabapb.ReceiptState_RECEIPT_STATE_PLAYING))
	bk.TerminalOffline("t001", created) // cut off mid-play in b1, before receiving b2
	mustApply(t, bk, report("t002", "b1", dalabapb.ReceiptState_RECEIPT_STATE_DONE))
	mustApply(t, bk, failure("t013", "b1", dalabapb.FailureReason_FAILURE_REASON_BAD_AUDIO, ""))
	mustApply(t, bk, report("t004", "b2", dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED))

	tests := []struct {
		terminal string
		at       time.Time
		want     []string
	}{
		{"t001", created, []string{"b1", "b2"}},            // disconnected in both
		{"t004", created, []string{"b1"}},                  // offline target of b1; b2 already received
		{"t002", created, nil},                             // done
		{"t013", created, nil},                             // failed on its own account
		{"t099", created, nil},                             // no target
		{"t001", b1.ValidUntil, []string{"b2"}},            // b1's window has closed
		{"t001", b2.ValidUntil.Add(time.Millisecond), nil}, // both closed
		{"t004", b1.ValidUntil.Add(-time.Millisecond), []string{"b1"}},
	}
	for _, tc := range tests {
		var got []string
		for _, b := range bk.Undelivered(tc.terminal, tc.at) {
			got = append(got, b.ID)
			if b.ID == "b1" && b != b1 {
				t.Errorf("Undelivered returned %+v, want the broadcast as opened %+v", b, b1)
			}
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Undelivered(%s, +%v) = %v, want %v", tc.terminal, tc.at.Sub(created), got, tc.want)
		}
	}
}
