package schedule

import (
	"context"
	"sort"
	"time"
)

// Planned is a slot of a schedule within a range: due in the schedule's zone, and its record
// when the slot log already has it (a past slot: fired, missed, skipped...).
type Planned struct {
	Schedule Schedule
	Due      time.Time
	Record   *SlotRecord
}

// Plan lists the slots of every schedule due in [from, to), in time order, at most limit of
// them; truncated says some were left out. Slots before a schedule began (Since) are not
// listed: they were never due.
func (r *Runner) Plan(ctx context.Context, from, to time.Time, limit int) (plan []Planned, truncated bool, err error) {
	ss, err := r.List(ctx)
	if err != nil {
		return nil, false, err
	}
	for _, s := range ss {
		records, err := querySlots(ctx, r.db, s.Location, `WHERE schedule_id=? AND due_ms>=? AND due_ms<?`,
			s.ID, from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return nil, false, err
		}
		byDue := map[int64]*SlotRecord{}
		for i := range records {
			byDue[records[i].Due.UnixMilli()] = &records[i]
		}
		start := from.Add(-time.Nanosecond) // Next is strictly after: include a slot at from
		if s.Since.After(start) {
			start = s.Since
		}
		n := 0
		for t := s.Next(start); !t.IsZero() && t.Before(to); t = s.Next(t) {
			if n++; n > limit { // one schedule alone fills the page
				truncated = true
				break
			}
			plan = append(plan, Planned{Schedule: s, Due: t, Record: byDue[t.UnixMilli()]})
		}
	}
	sort.SliceStable(plan, func(i, j int) bool {
		if !plan[i].Due.Equal(plan[j].Due) {
			return plan[i].Due.Before(plan[j].Due)
		}
		return plan[i].Schedule.ID < plan[j].Schedule.ID
	})
	if len(plan) > limit {
		plan, truncated = plan[:limit], true
	}
	return plan, truncated, nil
}
