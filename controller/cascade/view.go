package cascade

import (
	"context"
	"time"
)

// MessageView is an upper-level message as township staff see it: what came, what it did here,
// and its state and coverage here and below (the same figures reported upward).
type MessageView struct {
	ID          string         `json:"id"` // EBMID, or CAP sender,identifier
	Format      string         `json:"format"`
	Issuer      string         `json:"issuer"`
	Title       string         `json:"title"`
	Severity    int            `json:"severity"` // 1 red … 4 blue
	Drill       bool           `json:"drill"`
	Areas       []string       `json:"areas"`
	BroadcastID string         `json:"broadcast_id,omitempty"` // this town's broadcast of it; empty when nothing played here
	Targets     string         `json:"-"`                      // that broadcast's targets, for scope checks; empty: none or gone
	RelayedTo   []string       `json:"relayed_to,omitempty"`
	Received    time.Time      `json:"received"`
	End         time.Time      `json:"end"`
	Cancelled   *time.Time     `json:"cancelled,omitempty"`
	State       BrdState       `json:"state"`
	StateText   string         `json:"state_text"` // in Chinese, as the standard names it
	Coverage    []AreaCoverage `json:"coverage"`
}

// AreaCoverage is a message's coverage of one area code: its terminals here and those the
// platforms below reported, and how many played.
type AreaCoverage struct {
	Area   string `json:"area"`
	Total  int    `json:"total"`
	Played int    `json:"played"`
	Rate   string `json:"rate"` // percent, one decimal
}

// MaxMessages bounds one listing.
const MaxMessages = 200

// Messages lists the newest upper-level messages taken here, at most limit (MaxMessages when
// limit is out of range), newest first.
func (s *Service) Messages(ctx context.Context, limit int) ([]MessageView, error) {
	if limit <= 0 || limit > MaxMessages {
		limit = MaxMessages
	}
	recs, err := newestAlerts(ctx, s.DB, limit)
	if err != nil {
		return nil, err
	}
	out := make([]MessageView, 0, len(recs))
	for _, rec := range recs {
		st, targets, err := s.status(ctx, rec)
		if err != nil {
			return nil, err
		}
		m := MessageView{ID: rec.ID, Format: rec.Format, Issuer: rec.Issuer, Title: rec.Title, Severity: rec.Severity, Drill: rec.Drill,
			Areas: rec.Areas, BroadcastID: rec.BroadcastID, RelayedTo: rec.RelayedTo, Received: rec.Received, End: rec.End,
			Targets: targets, State: st.State, StateText: st.State.Chinese(), Coverage: []AreaCoverage{}}
		for _, c := range st.Coverage {
			m.Coverage = append(m.Coverage, AreaCoverage{Area: c.AreaCode, Total: c.ResTotal, Played: c.ResPlayed, Rate: c.CoverageRate})
		}
		if !rec.Cancelled.IsZero() {
			m.Cancelled = &rec.Cancelled
		}
		if m.Areas == nil {
			m.Areas = []string{}
		}
		out = append(out, m)
	}
	return out, nil
}

// PlatformBelow is a platform this one relays to, as staff see it: what it covers and what it
// last said of itself.
type PlatformBelow struct {
	Name            string     `json:"name"`
	PlatformID      string     `json:"platform_id,omitempty"`
	Areas           []string   `json:"areas"`
	LastHeartbeat   *time.Time `json:"last_heartbeat,omitempty"`
	Silent          bool       `json:"silent"` // no heartbeat within SilentAfter (or never)
	TerminalsOn     int        `json:"terminals_on"`
	TerminalsTotal  int        `json:"terminals_total"`
	LastStateReport *time.Time `json:"last_state_report,omitempty"`
}

// SilentAfter is how long a platform below may go without a heartbeat before staff are shown
// it as silent: three of the usual periods.
const SilentAfter = 3 * DefaultHeartbeat

// Below lists the platforms below, in the configuration's order.
func (s *Service) Below(now time.Time) []PlatformBelow {
	out := []PlatformBelow{}
	for _, p := range s.Config.Downstream {
		ps := s.Peer(p.Name)
		b := PlatformBelow{Name: p.Name, PlatformID: p.PlatformID, Areas: p.Areas, Silent: now.Sub(ps.LastHeartbeat) > SilentAfter,
			TerminalsOn: ps.TerminalsOn, TerminalsTotal: ps.TerminalsTotal}
		if !ps.LastHeartbeat.IsZero() {
			b.LastHeartbeat = &ps.LastHeartbeat
		}
		if !ps.LastStateReport.IsZero() {
			b.LastStateReport = &ps.LastStateReport
		}
		if b.Areas == nil {
			b.Areas = []string{}
		}
		out = append(out, b)
	}
	return out
}
