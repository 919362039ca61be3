package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// The standard five fields (minute hour day-of-month month day-of-week) and the descriptors
// @yearly, @monthly, @weekly, @daily, @hourly. Parsing is robfig/cron's; only the walk over
// slots is ours, because every slot is persisted before it fires.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// timing says when a schedule's slots fall.
type timing interface {
	// next is the first slot strictly after t, in the schedule's zone; zero when there is none.
	next(t time.Time) time.Time
}

type cronTiming struct{ spec *cron.SpecSchedule }

func (c cronTiming) next(t time.Time) time.Time { return c.spec.Next(t) }

type oneOff struct{ at time.Time }

func (o oneOff) next(t time.Time) time.Time {
	if o.at.After(t) {
		return o.at
	}
	return time.Time{}
}

// parseCron parses a cron expression whose slots fall in loc. The zone is a field of its own,
// so the parser's TZ= prefix is refused; @every is refused because its slots would hang on the
// moment the schedule was created rather than on the clock. An expression that never matches
// (30 February) is an error too, checked over the five years robfig's Next searches.
func parseCron(expr string, loc *time.Location, now time.Time) (cronTiming, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return cronTiming{}, errors.New("empty cron expression")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return cronTiming{}, fmt.Errorf("cron %q: give the time zone in the timezone field, not in the expression", expr)
	case strings.HasPrefix(expr, "@every"):
		return cronTiming{}, fmt.Errorf("cron %q: @every is not supported, use five fields such as \"*/15 * * * *\"", expr)
	}
	s, err := parser.Parse(expr)
	if err != nil {
		return cronTiming{}, fmt.Errorf("cron %q: %w", expr, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return cronTiming{}, fmt.Errorf("cron %q: unsupported schedule kind %T", expr, s)
	}
	spec.Location = loc
	if spec.Next(now).IsZero() {
		return cronTiming{}, fmt.Errorf("cron %q: never matches a date (within five years of %s)", expr, now.In(loc).Format(time.DateOnly))
	}
	return cronTiming{spec}, nil
}

// atLayouts are the forms a one-off time may take besides RFC 3339; they are read in the
// schedule's time zone.
var atLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05"}

// parseAt reads a one-off time: RFC 3339 (its own offset), or "2006-01-02 15:04[:05]" in loc.
func parseAt(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range atLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2025-01-06T07:30:00+08:00) or \"2006-01-02 15:04\"", s)
}

// loadZone loads a zone by IANA name. "Local" is refused: a schedule's zone is always explicit,
// so a file means the same on every machine.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q: give an IANA name such as Asia/Shanghai", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	return loc, nil
}
