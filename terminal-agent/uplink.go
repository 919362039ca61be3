package agent

import (
	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// What the terminal tells the controller besides receipts: its heartbeat, fault events and
// answers to control commands.

// telemetry publishes a heartbeat with QoS 0: a lost one is replaced by the next, and a stale
// one queued across a reconnect would say nothing true.
func (s *session) telemetry(t *dalabapb.Telemetry) {
	t.TerminalId, t.AtUnixMs = s.id, s.now().UnixMilli()
	s.publish(wire.TelemetryTopic(s.id), 0, t, "telemetry")
}

// faultEvent publishes a fault or recovery with QoS 1: each one is kept as a record.
func (s *session) faultEvent(e *dalabapb.FaultEvent) {
	e.TerminalId, e.AtUnixMs = s.id, s.now().UnixMilli()
	s.publish(wire.EventTopic(s.id), 1, e, "fault event")
}

// reply answers a control command with QoS 1.
func (s *session) reply(r *dalabapb.ControlReply) {
	r.TerminalId, r.AtUnixMs = s.id, s.now().UnixMilli()
	s.publish(wire.ReplyTopic(s.id), 1, r, "control reply")
}

func (s *session) publish(topic string, qos byte, m proto.Message, what string) paho.Token {
	if s.client == nil {
		return nil // not connected yet; the heartbeat on connect catches up
	}
	b, err := proto.Marshal(m)
	if err != nil {
		s.log.Error("encode "+what, "err", err)
		return nil
	}
	return s.client.Publish(topic, qos, false, b)
}

// control passes on a control command that came on this terminal's own topic. One on a tier
// topic would operate a whole village at once; nothing sends that, so it is refused.
func (s *session) control(topic string, c *dalabapb.ControlCommand) {
	if topic != wire.CommandTopic(wire.Address{Tier: wire.TierTerminal, Code: s.id}) {
		s.log.Warn("rejected control command on a tier topic", "topic", topic, "request", c.GetRequestId())
		return
	}
	if s.onControl != nil {
		s.onControl(c)
	}
}
