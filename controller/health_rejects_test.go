package controller_test

import (
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// Heartbeats, fault events and control replies that are malformed, from an unknown terminal,
// or answer nothing are refused and counted; none changes what the controller believes.
func TestMalformedAndUnknownHealthReportsAreRejectedAndCounted(t *testing.T) {
	c := startOpenController(t) // a broker anyone may publish to: the controller's checks alone
	spoof := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + c.MQTTAddr).SetClientID("spoof"))
	if tok := spoof.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer spoof.Disconnect(100)
	pub := func(topic string, payload []byte) {
		if tok := spoof.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	msg := func(m proto.Message) []byte { b, _ := proto.Marshal(m); return b }
	beat := func(id string, mod func(*dalabapb.Telemetry)) []byte {
		m := &dalabapb.Telemetry{TerminalId: id, AtUnixMs: time.Now().UnixMilli(), WorkState: dalabapb.WorkState_WORK_STATE_IDLE,
			Volume: 50, HeartbeatMs: 1000}
		mod(m)
		return msg(m)
	}
	fault := func(id string, kind dalabapb.FaultKind) []byte {
		return msg(&dalabapb.FaultEvent{TerminalId: id, Kind: kind, Active: true, AtUnixMs: time.Now().UnixMilli()})
	}
	keep := func(*dalabapb.Telemetry) {}

	pub(wire.TelemetryTopic("t001"), []byte("not protobuf \xff\xff"))
	pub(wire.TelemetryTopic("t001"), beat("t002", keep))                                              // someone else's id
	pub(wire.TelemetryTopic("t001"), beat("t001", func(m *dalabapb.Telemetry) { m.HeartbeatMs = 0 })) // no period
	pub(wire.TelemetryTopic("t001"), beat("t001", func(m *dalabapb.Telemetry) { m.Volume = 140 }))
	pub(wire.TelemetryTopic("t999"), beat("t999", keep)) // not in the inventory
	pub(wire.EventTopic("t001"), []byte{0x08, 0xff})
	pub(wire.EventTopic("t001"), fault("t001", 99))
	pub(wire.EventTopic("t999"), fault("t999", dalabapb.FaultKind_FAULT_KIND_SIGNAL_WEAK))
	pub(wire.ReplyTopic("t001"), msg(&dalabapb.ControlReply{TerminalId: "t001", RequestId: "nobody-asked", Ok: true}))

	want := map[string]float64{"telemetry": 5, "fault_event": 3, "control_reply": 1}
	eventually(t, 5*time.Second, func() error {
		for kind, n := range want {
			if got := metric(t, c, fmt.Sprintf(`dalaba_reports_rejected_total{kind=%q}`, kind)); got != n {
				return fmt.Errorf("rejected %s: %v, want %v", kind, got, n)
			}
		}
		return nil
	})
	if c.Presence.Get("t001").Online || c.Presence.Get("t999").Online {
		t.Fatal("a refused heartbeat brought a terminal online")
	}
	if h := terminalFromAPI(t, c, "t001"); h.HeartbeatMs != nil || h.Volume != nil || len(h.Faults) != 0 {
		t.Fatalf("refused reports changed t001: %+v", h)
	}
	if evs := eventsFromAPI(t, c, ""); len(evs) != 0 {
		t.Fatalf("refused reports stored as events: %+v", evs)
	}
}
