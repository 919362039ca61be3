package agent

import (
	"time"

	"dalaba/proto/dalabapb"
)

// heartbeat publishes the terminal's Telemetry every period and on every connect. The
// controller marks the terminal offline after two periods without one, so a hung agent whose
// TCP connection (and so its Last Will) still stands is noticed too.
type heartbeat struct {
	period  time.Duration
	started time.Time
	volume  *level
	busy    *activity
	faults  *faults
	send    func(*dalabapb.Telemetry)
}

func (h *heartbeat) beat() { h.send(h.telemetry()) }

func (h *heartbeat) telemetry() *dalabapb.Telemetry {
	active := h.faults.list()
	return &dalabapb.Telemetry{
		WorkState:    workState(h.busy.playing(), len(active)),
		Volume:       h.volume.Get(),
		UptimeS:      int64(time.Since(h.started) / time.Second),
		AgentVersion: Version,
		ActiveFaults: active,
		HeartbeatMs:  h.period.Milliseconds(),
	}
}
