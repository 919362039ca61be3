package health

import (
	"fmt"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// Telemetry takes a heartbeat published on the telemetry topic of terminal from and returns
// the heartbeat period it promises.
func (b *Board) Telemetry(from string, m *dalabapb.Telemetry) (time.Duration, error) {
	if err := checkTelemetry(from, m); err != nil {
		return 0, err
	}
	if !b.known(from) {
		return 0, fmt.Errorf("telemetry from unknown terminal %q", from)
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.termLocked(from)
	t.last, t.at = m, now
	// The heartbeat's list of faults is the truth (after a controller restart it is all there
	// is), unless a fault event newer than the heartbeat has arrived since.
	if m.GetAtUnixMs() >= t.lastEvent {
		listed := map[dalabapb.FaultKind]bool{}
		for _, k := range m.GetActiveFaults() {
			listed[k] = true
			if _, ok := t.faults[k]; !ok {
				name := wire.FaultName(k)
				t.faults[k] = ActiveFault{Kind: name, Name: FaultChinese(name), Since: now}
			}
		}
		for k := range t.faults {
			if !listed[k] {
				delete(t.faults, k)
			}
		}
	}
	return time.Duration(m.GetHeartbeatMs()) * time.Millisecond, nil
}

func checkTelemetry(from string, m *dalabapb.Telemetry) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("malformed telemetry on the topic of %q: "+format, append([]any{from}, a...)...)
	}
	switch {
	case m.GetTerminalId() != from:
		return bad("terminal %q", m.GetTerminalId())
	case wire.WorkStateName(m.GetWorkState()) == "":
		return bad("work state %v", m.GetWorkState())
	case m.GetVolume() < 0 || m.GetVolume() > 100:
		return bad("volume %d", m.GetVolume())
	case m.GetHeartbeatMs() < wire.MinHeartbeatMs || m.GetHeartbeatMs() > wire.MaxHeartbeatMs:
		return bad("heartbeat %d ms", m.GetHeartbeatMs())
	case m.GetUptimeS() < 0:
		return bad("uptime %d s", m.GetUptimeS())
	}
	for _, k := range m.GetActiveFaults() {
		if !wire.ValidFault(k) {
			return bad("fault kind %v", k)
		}
	}
	return nil
}
