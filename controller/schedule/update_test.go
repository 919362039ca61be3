package schedule

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestUpdateMovesSlotsWithoutReplayingOrHalfApplying(t *testing.T) {
	ctx := context.Background()
	start := at(shanghai, 2025, 3, 10, 0, 0)
	g := newRig(t, start)
	g.create(Def{ID: "morning", Name: "早间通知", Announcement: "a", Cron: "30 7 * * *", To: Targets{"village:361126104201"}})
	if _, err := g.r.Pause(ctx, "morning"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.r.Resume(ctx, "morning"); err != nil {
		t.Fatal(err)
	}
	g.step(at(shanghai, 2025, 3, 10, 7, 30)) // fired at 07:30

	// A bad definition changes nothing.
	if _, err := g.r.Update(ctx, "morning", Def{Name: "早间通知", Announcement: "a", Cron: "61 7 * * *"}); err == nil {
		t.Fatal("a bad cron was accepted")
	}
	if s := g.get("morning"); s.Cron != "30 7 * * *" || s.Name != "早间通知" {
		t.Fatalf("after a refused update: %+v", s)
	}

	// Later the same day, moved to 08:00 and renamed: today's 08:00 plays, 07:30 does not again.
	g.clock.Set(at(shanghai, 2025, 3, 10, 7, 40))
	s, err := g.r.Update(ctx, "morning", Def{Name: "八点通知", Announcement: "b", Cron: "0 8 * * *"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "morning" || s.Name != "八点通知" || s.Announcement != "b" || len(s.Targets) != 0 || !s.Created.Equal(start) {
		t.Fatalf("updated %+v: want the new definition under the same id and creation time", s)
	}
	g.step(at(shanghai, 2025, 3, 10, 8, 0))
	g.step(at(shanghai, 2025, 3, 11, 8, 0))
	if want := []string{"03-10 07:30 fired", "03-10 08:00 fired", "03-11 08:00 fired"}; !slices.Equal(states(g.slots("morning")), want) {
		t.Fatalf("slot log %v, want %v", states(g.slots("morning")), want)
	}

	if _, err := g.r.Update(ctx, "nope", Def{Name: "x", Announcement: "a", Cron: "0 8 * * *"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
}
