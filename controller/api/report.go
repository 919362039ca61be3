package api

import (
	"sort"
	"time"

	"dalaba/controller/receipts"
	"dalaba/proto/wire"
)

// ReportJSON is a broadcast's report as GET /api/v1/broadcasts/{id} answers it (the console
// decodes it as is).
type ReportJSON struct {
	ID         string          `json:"id"`
	Title      string          `json:"title"`
	Targets    string          `json:"targets"`
	State      string          `json:"state"`
	CreatedAt  time.Time       `json:"created_at"`
	ValidUntil time.Time       `json:"valid_until"`
	Counts     receipts.Counts `json:"counts"`
	// FailedToSound counts terminals that played or tried to, but whose horn did not sound the
	// program (too short, silent, device error, interrupted).
	FailedToSound int                `json:"failed_to_sound"`
	Villages      []VillageJSON      `json:"villages"`
	NotPlayed     []NotPlayedJSON    `json:"not_played"`
	Receipts      []receipts.Receipt `json:"receipts"`
}

// VillageJSON is one village of a report.
type VillageJSON struct {
	Code   string          `json:"code"`
	Name   string          `json:"name"`
	Total  int             `json:"total"`
	Counts receipts.Counts `json:"counts"`
	// Coverage is the percent of this village's targeted terminals that played to the end.
	Coverage float64 `json:"coverage"`
}

// NotPlayedJSON is a targeted terminal that has not played, and why.
type NotPlayedJSON struct {
	Terminal string          `json:"terminal"`
	Village  string          `json:"village"`
	State    receipts.State  `json:"state"`
	Reason   receipts.Reason `json:"reason,omitempty"`
	Detail   string          `json:"detail,omitempty"`
	Why      string          `json:"why"` // for staff, in Chinese
}

// report shapes a summary for staff: totals, per village, and the terminals that did not play.
func (s *Server) report(sum receipts.Summary) ReportJSON {
	inv := s.Inventory()
	out := ReportJSON{ID: sum.ID, Title: sum.Title, Targets: sum.Targets, State: sum.State, CreatedAt: sum.CreatedAt,
		ValidUntil: sum.ValidUntil, Counts: sum.Counts, Receipts: sum.Receipts, NotPlayed: []NotPlayedJSON{}}
	byVillage := map[string]*VillageJSON{}
	var order []string
	for _, rc := range sum.Receipts {
		v, ok := byVillage[rc.Village]
		if !ok {
			v = &VillageJSON{Code: rc.Village, Name: inv.Name(wire.Address{Tier: wire.TierVillage, Code: rc.Village}), Counts: receipts.Counts{}}
			byVillage[rc.Village] = v
			order = append(order, rc.Village)
		}
		v.Total++
		v.Counts[rc.State]++
		if rc.State != receipts.Done {
			out.NotPlayed = append(out.NotPlayed, NotPlayedJSON{Terminal: rc.Terminal, Village: rc.Village,
				State: rc.State, Reason: rc.Reason, Detail: rc.Detail, Why: why(rc)})
		}
		if rc.State == receipts.Failed && rc.Reason.Unheard() {
			out.FailedToSound++
		}
	}
	sort.Strings(order)
	for _, code := range order {
		v := byVillage[code]
		v.Coverage = 100 * float64(v.Counts[receipts.Done]) / float64(v.Total)
		out.Villages = append(out.Villages, *v)
	}
	return out
}

func why(rc receipts.Receipt) string {
	switch rc.State {
	case receipts.Offline:
		return "发送时终端离线"
	case receipts.Failed:
		return rc.Reason.Chinese()
	case receipts.Pending:
		return "等待终端回执"
	default:
		return "正在播放流程中"
	}
}
