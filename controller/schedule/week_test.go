package schedule

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPlanAWeek(t *testing.T) {
	mon := at(shanghai, 2025, 3, 10, 0, 0)
	g := newRig(t, mon.Add(-time.Hour))
	g.create(Def{ID: "morning", Name: "早间", Announcement: "a", Cron: "30 7 * * *"})
	g.create(Def{ID: "weekly", Name: "每周", Announcement: "a", Cron: "0 19 * * MON"})
	g.create(Def{ID: "once", Name: "单次", Announcement: "a", At: "2025-03-12 10:00"})
	g.step(at(shanghai, 2025, 3, 10, 7, 30))
	plan, truncated, err := g.r.Plan(context.Background(), mon, mon.AddDate(0, 0, 7), 100)
	if err != nil || truncated {
		t.Fatal(err, truncated)
	}
	var got []string
	for _, p := range plan {
		s := p.Due.Format("01-02 15:04 ") + p.Schedule.ID
		if p.Record != nil {
			s += " " + p.Record.State
		}
		got = append(got, s)
	}
	want := "03-10 07:30 morning fired,03-10 19:00 weekly,03-11 07:30 morning,03-12 07:30 morning,03-12 10:00 once," +
		"03-13 07:30 morning,03-14 07:30 morning,03-15 07:30 morning,03-16 07:30 morning"
	if strings.Join(got, ",") != want {
		t.Fatalf("plan\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	if plan, truncated, _ = g.r.Plan(context.Background(), mon, mon.AddDate(0, 0, 7), 3); len(plan) != 3 || !truncated {
		t.Fatalf("limit: %d %v", len(plan), truncated)
	}
}

// The longest schedule id still makes a broadcast id that dispatch accepts as caller-chosen.
func TestBroadcastIDFitsDispatch(t *testing.T) {
	dispatchRule := regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`) // dispatch/idempotent.go
	due := at(shanghai, 2286, 11, 20, 0, 0)                     // 14-digit unix ms
	for _, id := range []string{"a", strings.Repeat("x", 40)} {
		if !idPattern.MatchString(id) {
			t.Fatalf("%q is a valid schedule id", id)
		}
		if b := BroadcastID(id, due); !dispatchRule.MatchString(b) {
			t.Fatalf("broadcast id %q (%d chars) refused by dispatch", b, len(b))
		}
	}
	if BroadcastID("a", due) != BroadcastID("a", due.UTC()) || BroadcastID("a", due) == BroadcastID("a", due.Add(time.Minute)) {
		t.Fatal("broadcast id must depend on the schedule and the instant only")
	}
}
