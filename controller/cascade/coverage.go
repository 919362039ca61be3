package cascade

import (
	"context"
	"fmt"
	"slices"

	"dalaba/controller/receipts"
)

// Status is a message's broadcast state and coverage here and below, per area code.
type Status struct {
	State    BrdState
	Coverage []Coverage
}

// covered counts a receipt as played: it is playing or has played to the end.
func covered(s receipts.State) bool {
	return s == receipts.Playing || s == receipts.Preempted || s == receipts.Done
}

// Status adds up a message's coverage: this town's receipts for its terminals in each area,
// plus what the platforms below last reported for the area.
func (s *Service) Status(ctx context.Context, id string) (Status, error) {
	rec, err := loadAlert(ctx, s.DB, id)
	if err != nil {
		return Status{}, err
	}
	st, _, err := s.status(ctx, rec)
	return st, err
}

// status is Status of a message already loaded; it also gives the targets of this town's
// broadcast of it (empty when nothing played here, or the broadcast is gone).
func (s *Service) status(ctx context.Context, rec record) (_ Status, targets string, _ error) {
	var states []BrdState
	played := map[string]bool{}   // terminal -> covered
	targeted := map[string]bool{} // terminals the broadcast went to
	if rec.BroadcastID != "" {
		st := BrdFailure // recorded but never sent: the program could not be made
		if sum, err := s.Book.Get(ctx, rec.BroadcastID); err == nil {
			targets = sum.Targets
			for _, r := range sum.Receipts {
				targeted[r.Terminal] = true
				played[r.Terminal] = covered(r.State)
			}
			st = ownState(sum)
		}
		states = append(states, st)
	}
	reports, err := loadReports(ctx, s.DB, rec.ID)
	if err != nil {
		return Status{}, "", err
	}
	byArea, _ := Targets(s.Inventory(), rec.Areas)
	inv := s.Inventory()
	out := Status{}
	seenPlatform := map[string]bool{}
	for _, code := range rec.Areas {
		c := Coverage{AreaCode: code}
		counted := map[string]bool{}
		for _, ad := range byArea[code] {
			for _, t := range inv.Under(ad) {
				if targeted[t.ID] && !counted[t.ID] {
					counted[t.ID] = true
					c.ResTotal++
					if played[t.ID] {
						c.ResPlayed++
					}
				}
			}
		}
		for _, r := range reports {
			if r.Area == code {
				c.ResTotal += r.Total
				c.ResPlayed += r.Played
			}
			if !seenPlatform[r.Platform] {
				seenPlatform[r.Platform] = true
				states = append(states, r.State)
			}
		}
		c.CoverageRate = rate(c.ResPlayed, c.ResTotal)
		out.Coverage = append(out.Coverage, c)
	}
	for range len(rec.RelayedTo) - len(seenPlatform) {
		states = append(states, BrdWaiting) // a platform below that has not reported yet
	}
	out.State = combine(states, !rec.Cancelled.IsZero())
	return out, targets, nil
}

func rate(played, total int) string {
	if total == 0 {
		return "0.0"
	}
	return fmt.Sprintf("%.1f", 100*float64(played)/float64(total))
}

// ownState is this town's broadcast as the standard counts it.
func ownState(sum receipts.Summary) BrdState {
	any := func(f func(receipts.State) bool) bool {
		return slices.ContainsFunc(sum.Receipts, func(r receipts.Receipt) bool { return f(r.State) })
	}
	switch {
	case sum.State == receipts.StateCancelled:
		return BrdCancelled
	case sum.State == receipts.StateFinished && any(func(s receipts.State) bool { return s == receipts.Done }):
		return BrdSuccess
	case sum.State == receipts.StateFinished:
		return BrdFailure
	case any(covered):
		return BrdPlaying
	}
	return BrdWaiting
}

// combine is the state of a message over this platform and those below: cancelled if it was;
// playing while any part plays or another is still to finish after one played; success when
// every part finished and one played; failure when every part finished and none played.
func combine(states []BrdState, cancelled bool) BrdState {
	if cancelled {
		return BrdCancelled
	}
	if len(states) == 0 {
		return BrdUnprocessed
	}
	final := func(s BrdState) bool { return s == BrdSuccess || s == BrdFailure || s == BrdCancelled }
	if !slices.ContainsFunc(states, func(s BrdState) bool { return !final(s) }) {
		if slices.Contains(states, BrdSuccess) {
			return BrdSuccess
		}
		return BrdFailure
	}
	if slices.ContainsFunc(states, func(s BrdState) bool { return s == BrdPlaying || s == BrdSuccess }) {
		return BrdPlaying
	}
	return BrdWaiting
}
