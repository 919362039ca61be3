package schedule

import (
	"strings"
	"testing"
	"time"
)

var (
	shanghai = mustZone("Asia/Shanghai")
	utc      = time.UTC
)

func mustZone(name string) *time.Location {
	loc, err := loadZone(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func at(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

// Each want is computed by hand from a calendar: 2025-03-10 is a Monday, 2025-03-14 a Friday.
func TestCronNext(t *testing.T) {
	cases := []struct {
		name, expr string
		loc        *time.Location
		after      time.Time
		want       []time.Time // the next slots, in order
	}{
		{"every minute", "* * * * *", shanghai, at(shanghai, 2025, 3, 10, 7, 29).Add(30 * time.Second),
			[]time.Time{at(shanghai, 2025, 3, 10, 7, 30), at(shanghai, 2025, 3, 10, 7, 31)}},
		{"07:30 Shanghai, before it", "30 7 * * *", shanghai, at(shanghai, 2025, 3, 10, 6, 0),
			[]time.Time{at(shanghai, 2025, 3, 10, 7, 30), at(shanghai, 2025, 3, 11, 7, 30)}},
		{"07:30 Shanghai is 23:30 UTC the day before", "30 7 * * *", shanghai, at(utc, 2025, 3, 10, 0, 0),
			[]time.Time{at(utc, 2025, 3, 10, 23, 30)}},
		{"07:30 UTC is 15:30 in Shanghai", "30 7 * * *", utc, at(shanghai, 2025, 3, 10, 8, 0),
			[]time.Time{at(shanghai, 2025, 3, 10, 15, 30)}},
		{"strictly after: at the slot itself, the next day's", "30 7 * * *", shanghai, at(shanghai, 2025, 3, 10, 7, 30),
			[]time.Time{at(shanghai, 2025, 3, 11, 7, 30)}},
		{"31st skips months without one", "0 9 31 * *", shanghai, at(shanghai, 2025, 1, 31, 10, 0),
			[]time.Time{at(shanghai, 2025, 3, 31, 9, 0), at(shanghai, 2025, 5, 31, 9, 0), at(shanghai, 2025, 7, 31, 9, 0), at(shanghai, 2025, 8, 31, 9, 0)}},
		{"29 February waits for a leap year", "0 0 29 2 *", shanghai, at(shanghai, 2025, 3, 1, 0, 0),
			[]time.Time{at(shanghai, 2028, 2, 29, 0, 0), at(shanghai, 2032, 2, 29, 0, 0)}},
		{"29 February in a leap year", "0 8 29 2 *", shanghai, at(shanghai, 2024, 2, 28, 9, 0),
			[]time.Time{at(shanghai, 2024, 2, 29, 8, 0)}},
		{"first of the month 09:00", "0 9 1 * *", shanghai, at(shanghai, 2025, 12, 15, 0, 0),
			[]time.Time{at(shanghai, 2026, 1, 1, 9, 0), at(shanghai, 2026, 2, 1, 9, 0)}},
		{"@monthly is midnight on the 1st", "@monthly", shanghai, at(shanghai, 2025, 1, 15, 12, 0),
			[]time.Time{at(shanghai, 2025, 2, 1, 0, 0), at(shanghai, 2025, 3, 1, 0, 0)}},
		{"@daily", "@daily", utc, at(utc, 2025, 12, 31, 23, 59),
			[]time.Time{at(utc, 2026, 1, 1, 0, 0)}},
		{"@weekly is Sunday midnight", "@weekly", shanghai, at(shanghai, 2025, 3, 10, 0, 0),
			[]time.Time{at(shanghai, 2025, 3, 16, 0, 0)}},
		{"Mondays 19:00", "0 19 * * 1", shanghai, at(shanghai, 2025, 3, 10, 19, 0),
			[]time.Time{at(shanghai, 2025, 3, 17, 19, 0), at(shanghai, 2025, 3, 24, 19, 0)}},
		{"weekdays: Friday evening goes to Monday", "0 19 * * 1-5", shanghai, at(shanghai, 2025, 3, 14, 19, 0),
			[]time.Time{at(shanghai, 2025, 3, 17, 19, 0), at(shanghai, 2025, 3, 18, 19, 0)}},
		{"named range MON-WED", "0 6 * * MON-WED", shanghai, at(shanghai, 2025, 3, 12, 7, 0),
			[]time.Time{at(shanghai, 2025, 3, 17, 6, 0), at(shanghai, 2025, 3, 18, 6, 0), at(shanghai, 2025, 3, 19, 6, 0)}},
		{"weekend list 6,0", "0 8 * * 6,0", shanghai, at(shanghai, 2025, 3, 10, 0, 0),
			[]time.Time{at(shanghai, 2025, 3, 15, 8, 0), at(shanghai, 2025, 3, 16, 8, 0), at(shanghai, 2025, 3, 22, 8, 0)}},
		{"day of month OR day of week (standard cron)", "0 9 1 * 1", shanghai, at(shanghai, 2025, 3, 25, 0, 0),
			[]time.Time{at(shanghai, 2025, 3, 31, 9, 0), at(shanghai, 2025, 4, 1, 9, 0), at(shanghai, 2025, 4, 7, 9, 0)}},
		{"steps */20", "*/20 8 * * *", shanghai, at(shanghai, 2025, 3, 10, 8, 0),
			[]time.Time{at(shanghai, 2025, 3, 10, 8, 20), at(shanghai, 2025, 3, 10, 8, 40), at(shanghai, 2025, 3, 11, 8, 0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct, err := parseCron(c.expr, c.loc, c.after)
			if err != nil {
				t.Fatal(err)
			}
			got := c.after
			for i, want := range c.want {
				got = ct.next(got)
				if !got.Equal(want) {
					t.Fatalf("slot %d after %s: got %s, want %s", i+1, c.after, got, want)
				}
			}
		})
	}
}

func TestBadCronNamesTheExpression(t *testing.T) {
	now := at(shanghai, 2025, 3, 10, 0, 0)
	for _, expr := range []string{
		"* * * *",          // four fields
		"* * * * * *",      // six (seconds are not part of the standard)
		"60 * * * *",       // minute out of range
		"* 24 * * *",       // hour out of range
		"0 0 32 * *",       // no 32nd
		"0 0 * 13 *",       // no 13th month
		"0 0 * * 8",        // no 8th weekday
		"0 19 * * 5-1",     // ranges do not wrap
		"0 0 30 2 *",       // never: 30 February
		"@fortnightly",     // no such descriptor
		"@every 5m",        // anchored to creation, not the clock
		"TZ=UTC 0 7 * * *", // the zone is its own field
		"half past seven",
	} {
		_, err := parseCron(expr, shanghai, now)
		if err == nil {
			t.Errorf("%q accepted", expr)
			continue
		}
		if !strings.Contains(err.Error(), `"`+expr+`"`) {
			t.Errorf("%q: error does not name the expression: %v", expr, err)
		}
	}
	if _, err := parseCron("  ", shanghai, now); err == nil {
		t.Error("blank expression accepted")
	}
}

func TestParseAt(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2025-03-10 07:30", at(shanghai, 2025, 3, 10, 7, 30)},
		{"2025-03-10 07:30:15", at(shanghai, 2025, 3, 10, 7, 30).Add(15 * time.Second)},
		{"2025-03-10T07:30:00+08:00", at(shanghai, 2025, 3, 10, 7, 30)},
		{"2025-03-09T23:30:00Z", at(shanghai, 2025, 3, 10, 7, 30)},
		{"2025-03-10T07:30:00.250+08:00", at(shanghai, 2025, 3, 10, 7, 30).Add(250 * time.Millisecond)},
	}
	for _, c := range cases {
		got, err := parseAt(c.in, shanghai)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%q: got %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "tomorrow", "2025-02-30 07:30", "07:30", "2025/03/10 07:30"} {
		if _, err := parseAt(bad, shanghai); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
