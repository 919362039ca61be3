package controller

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/controller/broker"
	"dalaba/controller/control"
	"dalaba/controller/health"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// subscribeHealth takes the terminals' heartbeats, fault events and control replies. Like
// receipts, anything malformed or from an unknown terminal is rejected and counted.
func (in *ingest) subscribeHealth(bus broker.Bus, board *health.Board, remote *control.Remote) error {
	if err := bus.Subscribe(wire.TelemetryFilter, 0, func(topic string, payload []byte) {
		in.telemetry(board, topic, payload)
	}); err != nil {
		return err
	}
	if err := bus.Subscribe(wire.EventFilter, 1, func(topic string, payload []byte) {
		in.faultEvent(board, topic, payload)
	}); err != nil {
		return err
	}
	return bus.Subscribe(wire.ReplyFilter, 1, func(topic string, payload []byte) {
		from := wire.TerminalFromTopic(topic)
		if err := remote.Deliver(from, payload); err != nil {
			in.reject("control_reply", from, err)
			return
		}
		in.presence.Touch(from)
	})
}

func (in *ingest) telemetry(board *health.Board, topic string, payload []byte) {
	from := wire.TerminalFromTopic(topic)
	var m dalabapb.Telemetry
	err := proto.Unmarshal(payload, &m)
	var period time.Duration
	if err == nil {
		period, err = board.Telemetry(from, &m)
	}
	if err == nil {
		err = in.presence.Heartbeat(from, m.GetAgentVersion(), period, time.UnixMilli(m.GetAtUnixMs()))
	}
	if err != nil {
		in.reject("telemetry", from, err)
	}
}

func (in *ingest) faultEvent(board *health.Board, topic string, payload []byte) {
	from := wire.TerminalFromTopic(topic)
	var e dalabapb.FaultEvent
	err := proto.Unmarshal(payload, &e)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = board.Fault(ctx, from, &e)
		cancel()
	}
	if err != nil {
		in.reject("fault_event", from, err)
		return
	}
	in.presence.Touch(from)
}
