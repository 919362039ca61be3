package api

import (
	"time"

	"dalaba/controller/health"
)

// TerminalHealthJSON is what GET /api/v1/terminals shows of a terminal's last heartbeat and
// its active faults. Fields are null until a heartbeat has arrived since the controller started.
type TerminalHealthJSON struct {
	WorkState     string               `json:"work_state"`      // idle, playing, fault; "" when offline or not yet reported
	WorkStateName string               `json:"work_state_name"` // for staff
	Volume        *int32               `json:"volume"`
	UptimeS       *int64               `json:"uptime_s"`
	HeartbeatMs   *int64               `json:"heartbeat_ms"`
	HeartbeatAt   *time.Time           `json:"heartbeat_at"`
	Faults        []health.ActiveFault `json:"faults"`
}

func (s *Server) terminalHealth(id string, online bool) TerminalHealthJSON {
	if s.Health == nil {
		return TerminalHealthJSON{Faults: []health.ActiveFault{}}
	}
	h := s.Health.Get(id)
	out := TerminalHealthJSON{Faults: h.Faults}
	if !h.Reported {
		return out
	}
	if online {
		out.WorkState, out.WorkStateName = h.WorkState, health.WorkStateChinese(h.WorkState)
	}
	vol, up, hb, at := h.Volume, int64(h.Uptime/time.Second), h.Heartbeat.Milliseconds(), h.At
	out.Volume, out.UptimeS, out.HeartbeatMs, out.HeartbeatAt = &vol, &up, &hb, &at
	return out
}
