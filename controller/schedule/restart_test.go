package schedule

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The runner stopped and started again over the same store, at a fake clock, through short and
// long outages: every slot is in the log exactly once, and only fired slots were fired, once.
func TestRestartLosesAndRepeatsNoSlot(t *testing.T) {
	hm := func(h, m int) time.Time { return at(shanghai, 2025, 3, 10, h, m) }
	g := newRig(t, hm(7, 55))
	g.create(Def{ID: "tenmin", Name: "每十分钟", Announcement: "a", Cron: "*/10 * * * *", Grace: "10m"})

	g.step(hm(8, 0))     // 08:00 fires on time
	g.step(hm(8, 15))    // 08:10 fires 5 min late
	g.restart(hm(8, 25)) // down 08:15-08:25
	g.step(hm(8, 25))    // 08:20 fires 5 min late
	g.restart(hm(8, 25)) // restarted at the same instant: nothing again
	g.step(hm(8, 25))
	g.step(hm(8, 30))    // 08:30 on time
	g.restart(hm(9, 35)) // down 08:30-09:35: 08:40..09:20 missed, 09:30 fires 5 min late
	g.step(hm(9, 35))
	g.restart(hm(9, 35).Add(30 * time.Second))
	g.step(hm(9, 39)) // nothing new

	var want []string
	for m := 8 * 60; m <= 9*60+30; m += 10 {
		state := StateMissed
		if m <= 8*60+30 || m == 9*60+30 {
			state = StateFired
		}
		want = append(want, fmt.Sprintf("%s %s", hm(m/60, m%60).Format("01-02 15:04"), state))
	}
	got := g.slots("tenmin")
	if !slices.Equal(states(got), want) {
		t.Fatalf("slot log\n%v\nwant\n%v", strings.Join(states(got), "\n"), strings.Join(want, "\n"))
	}
	var fired []time.Time
	for _, s := range got {
		if s.State == StateFired {
			fired = append(fired, s.Due)
			if s.Attempts != 1 || s.BroadcastID != BroadcastID("tenmin", s.Due) {
				t.Errorf("slot %s: attempts %d, broadcast %s", s.Due, s.Attempts, s.BroadcastID)
			}
		}
	}
	calls := g.fire.Calls()
	if len(calls) != len(fired) {
		t.Fatalf("Fire called %d times for %d fired slots", len(calls), len(fired))
	}
	for i, c := range calls {
		if !c.Due.Equal(fired[i]) {
			t.Fatalf("call %d for %s, want %s", i, c.Due, fired[i])
		}
	}
}

// A crash between claim and result: the slot is found claimed at the next start. Within grace
// it fires again with the same broadcast id (the controller's Fire recognises it); past grace
// it is recorded failed and not fired.
func TestClaimedSlotRecoveredAfterCrash(t *testing.T) {
	for _, c := range []struct {
		name      string
		downFor   time.Duration
		state     string
		fireCalls int
	}{
		{"within grace: fired again, same broadcast id", 2 * time.Minute, StateFired, 2},
		{"past grace: failed, not fired again", 20 * time.Minute, StateFailed, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			due := at(shanghai, 2025, 3, 10, 7, 30)
			g := newRig(t, due.Add(-time.Hour))
			g.create(Def{ID: "morning", Name: "早间通知", Announcement: "a", Cron: "30 7 * * *"})
			// The first Fire never returns before the "crash" interrupts it.
			started := make(chan struct{})
			g.fire.answer(func(ctx context.Context, s Slot) (string, error) {
				close(started)
				<-ctx.Done()
				return "", ctx.Err()
			})
			g.clock.Set(due)
			g.r.runDue(context.Background()) // not step: that would wait for the Fire
			<-started
			if s := g.slots("morning"); len(s) != 1 || s[0].State != StateClaimed {
				t.Fatalf("before the crash: %+v", s)
			}
			g.fire.answer(nil)
			g.restart(due.Add(c.downFor))
			g.step(due.Add(c.downFor + time.Second))
			s := g.slots("morning")
			if len(s) != 1 || s[0].State != c.state || s[0].BroadcastID != BroadcastID("morning", due) {
				t.Fatalf("after restart: %+v", s)
			}
			calls := g.fire.Calls()
			if len(calls) != c.fireCalls {
				t.Fatalf("Fire called %d times, want %d", len(calls), c.fireCalls)
			}
			if c.fireCalls == 2 && (calls[1].BroadcastID != calls[0].BroadcastID || calls[1].Attempt != 2 || s[0].Attempts != 2) {
				t.Fatalf("refire %+v, slot %+v", calls[1], s[0])
			}
			if c.state == StateFailed && !strings.Contains(s[0].Reason, "interrupted") {
				t.Fatalf("reason %q", s[0].Reason)
			}
		})
	}
}

// The real loop, on the real clock: a one-off a moment ahead fires once, and Stop waits.
func TestLoopFiresOnTime(t *testing.T) {
	g := newRig(t, time.Now())
	g.r.now = time.Now
	ctx := context.Background()
	if err := g.r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(300 * time.Millisecond).In(shanghai)
	g.create(Def{ID: "soon", Name: "n", Announcement: "a", At: due.Format(time.RFC3339Nano)})
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := g.r.Slot(ctx, "soon", due.Truncate(time.Millisecond))
		if err == nil && rec.State == StateFired {
			if late := rec.Fired.Sub(rec.Due); late < 0 || late > 2*time.Second { // never early; the bound only catches a stuck loop
				t.Fatalf("fired %v after its time", late)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not fired: %+v %v", rec, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.r.Stop()
	if n := len(g.fire.Calls()); n != 1 {
		t.Fatalf("fired %d times", n)
	}
}
