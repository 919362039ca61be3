package schedule

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGraceWindow(t *testing.T) {
	day := at(shanghai, 2025, 3, 10, 6, 0)
	cases := []struct {
		name  string
		late  time.Duration
		state string
	}{
		{"on time", 0, StateFired},
		{"late within grace fires late", 5 * time.Minute, StateFired},
		{"exactly at the edge of grace still fires", 10 * time.Minute, StateFired},
		{"later than grace is missed", 10*time.Minute + time.Second, StateMissed},
		{"much later is missed", 3 * time.Hour, StateMissed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newRig(t, day)
			g.create(Def{ID: "morning", Name: "早间通知", Announcement: "caoxi-morning-notice", Cron: "30 7 * * *"})
			due := at(shanghai, 2025, 3, 10, 7, 30)
			g.step(due.Add(c.late))
			got := g.slots("morning")
			if len(got) != 1 || got[0].State != c.state || !got[0].Due.Equal(due) {
				t.Fatalf("slot log %v, want one %s slot at %s", states(got), c.state, due)
			}
			calls := g.fire.Calls()
			if c.state == StateFired {
				if len(calls) != 1 || calls[0].BroadcastID != BroadcastID("morning", due) || got[0].Fired.Sub(due) != c.late {
					t.Fatalf("fire calls %+v, slot %+v", calls, got[0])
				}
			} else if len(calls) != 0 || !strings.Contains(got[0].Reason, "grace") {
				t.Fatalf("missed slot fired %d times, reason %q", len(calls), got[0].Reason)
			}
		})
	}
}

// After an outage, of the slots within grace only the newest plays: the same notice is not
// sent five times in a row.
func TestOnlyTheNewestDueSlotFires(t *testing.T) {
	start := at(shanghai, 2025, 3, 10, 8, 0)
	g := newRig(t, start)
	g.create(Def{ID: "minutely", Name: "每分钟", Announcement: "a", Cron: "* * * * *", Grace: "10m"})
	g.step(start.Add(5*time.Minute + 20*time.Second))
	got := g.slots("minutely")
	want := []string{"03-10 08:01 missed", "03-10 08:02 missed", "03-10 08:03 missed", "03-10 08:04 missed", "03-10 08:05 fired"}
	if !slices.Equal(states(got), want) {
		t.Fatalf("slot log %v, want %v", states(got), want)
	}
	if !strings.Contains(got[0].Reason, "superseded") {
		t.Fatalf("reason %q", got[0].Reason)
	}
	if calls := g.fire.Calls(); len(calls) != 1 || !calls[0].Due.Equal(at(shanghai, 2025, 3, 10, 8, 5)) {
		t.Fatalf("fire calls %+v", calls)
	}
}

func TestPauseAndResume(t *testing.T) {
	ctx := context.Background()
	start := at(shanghai, 2025, 3, 10, 0, 0)
	g := newRig(t, start)
	g.create(Def{ID: "morning", Name: "早间通知", Announcement: "a", Cron: "30 7 * * *", To: Targets{"village:361126104201"}})
	if s, err := g.r.Pause(ctx, "morning"); err != nil || !s.Paused {
		t.Fatalf("pause: %+v %v", s, err)
	}
	g.step(at(shanghai, 2025, 3, 10, 7, 30))
	if _, err := g.r.Resume(ctx, "morning"); err != nil {
		t.Fatal(err)
	}
	g.step(at(shanghai, 2025, 3, 10, 7, 31)) // the paused slot stays skipped
	g.step(at(shanghai, 2025, 3, 11, 7, 30))
	got := g.slots("morning")
	if want := []string{"03-10 07:30 skipped", "03-11 07:30 fired"}; !slices.Equal(states(got), want) || got[0].Reason != "paused" {
		t.Fatalf("slot log %v (%q), want %v", states(got), got[0].Reason, want)
	}
	calls := g.fire.Calls()
	if len(calls) != 1 || calls[0].Targets[0].String() != "village:361126104201" || calls[0].Announcement != "a" {
		t.Fatalf("fire calls %+v", calls)
	}
	if _, err := g.r.Pause(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pause unknown: %v", err)
	}
}

func TestSkipAndFailureAreRecorded(t *testing.T) {
	start := at(shanghai, 2025, 3, 10, 8, 0)
	g := newRig(t, start)
	g.fire.answer(func(ctx context.Context, s Slot) (string, error) {
		if s.ScheduleID == "skip" {
			return "", Skip("announcement not approved")
		}
		return "", errors.New("no terminals online")
	})
	g.create(Def{ID: "skip", Name: "s", Announcement: "a", Cron: "5 8 * * *"})
	g.create(Def{ID: "fail", Name: "f", Announcement: "a", Cron: "5 8 * * *"})
	g.step(start.Add(5 * time.Minute))
	if s := g.slots("skip"); len(s) != 1 || s[0].State != StateSkipped || s[0].Reason != "announcement not approved" {
		t.Fatalf("skip: %+v", s)
	}
	if s := g.slots("fail"); len(s) != 1 || s[0].State != StateFailed || s[0].Reason != "no terminals online" {
		t.Fatalf("fail: %+v", s)
	}
}

func TestCreateRefusesBadSchedules(t *testing.T) {
	now := at(shanghai, 2025, 3, 10, 8, 0)
	g := newRig(t, now)
	cases := []struct {
		def   Def
		field string
	}{
		{Def{ID: "past", Name: "n", Announcement: "a", At: "2025-03-10 07:59"}, "at"},
		{Def{ID: "now", Name: "n", Announcement: "a", At: "2025-03-10 08:00"}, "at"},
		{Def{ID: "both", Name: "n", Announcement: "a", Cron: "* * * * *", At: "2025-03-11 08:00"}, "cron"},
		{Def{ID: "none", Name: "n", Announcement: "a"}, "cron"},
		{Def{ID: "tz", Name: "n", Announcement: "a", Cron: "@daily", TimeZone: "Mars/Olympus"}, "timezone"},
		{Def{ID: "grace", Name: "n", Announcement: "a", Cron: "@daily", Grace: "-5m"}, "grace"},
		{Def{ID: "to", Name: "n", Announcement: "a", Cron: "@daily", To: Targets{"county:1"}}, "to"},
		{Def{ID: "Bad ID", Name: "n", Announcement: "a", Cron: "@daily"}, "id"},
		{Def{ID: "week", Name: "n", Announcement: "a", Cron: "@daily"}, "id"},
		{Def{ID: "noname", Announcement: "a", Cron: "@daily"}, "name"},
		{Def{ID: "noann", Name: "n", Cron: "@daily"}, "announcement"},
	}
	for _, c := range cases {
		_, err := g.r.Create(context.Background(), c.def)
		var in *InputError
		if !errors.As(err, &in) || in.Field != c.field || in.Message == "" {
			t.Errorf("%s: got %v, want an input error on %s", c.def.ID, err, c.field)
		}
	}
	s := g.create(Def{Name: "单次", Announcement: "a", At: "2025-03-10 08:00:01"})
	if !strings.HasPrefix(s.ID, "api-") || s.Source != SourceAPI || s.Location.String() != "Asia/Shanghai" {
		t.Fatalf("created %+v", s)
	}
	if _, err := g.r.Create(context.Background(), Def{ID: s.ID, Name: "n", Announcement: "a", Cron: "@daily"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	if list, _ := g.r.List(context.Background()); len(list) != 1 {
		t.Fatalf("refused schedules were stored: %d", len(list))
	}
}

// A one-off fires once, at its exact time (to the millisecond), and never again.
func TestOneOffFiresOnce(t *testing.T) {
	now := at(shanghai, 2025, 3, 10, 8, 0)
	g := newRig(t, now)
	due := now.Add(3*time.Second + 250*time.Millisecond)
	g.create(Def{ID: "once", Name: "单次", Announcement: "a", At: due.Format(time.RFC3339Nano)})
	g.step(due.Add(-time.Millisecond))
	if len(g.fire.Calls()) != 0 {
		t.Fatal("fired early")
	}
	g.step(due)
	g.step(due.Add(time.Minute))
	g.restart(due.Add(2 * time.Minute))
	g.step(due.Add(3 * time.Minute))
	rec, err := g.r.Slot(context.Background(), "once", due)
	if err != nil || rec.State != StateFired || !rec.Fired.Equal(due) || rec.Attempts != 1 {
		t.Fatalf("slot %+v %v", rec, err)
	}
	if n := len(g.fire.Calls()); n != 1 {
		t.Fatalf("fired %d times", n)
	}
}
