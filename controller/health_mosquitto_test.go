package controller_test

import (
	"fmt"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
)

// Heartbeats, fault events and control round trips through an external broker (Mosquitto),
// whose client hands messages to the controller on many goroutines.
func TestHealthAndControlThroughMosquitto(t *testing.T) {
	c := startController(t, startMosquitto(t))
	a := startSimAgent(t, c, "t001", "361126104201001", 300*time.Millisecond)
	a.health.Set(dalabapb.FaultKind_FAULT_KIND_AMPLIFIER_VOLTAGE_LOW, true, "18 V")
	eventually(t, 5*time.Second, func() error {
		if h := terminalFromAPI(t, c, "t001"); h.WorkState != "fault" || len(h.Faults) != 1 || h.HeartbeatMs == nil {
			return fmt.Errorf("t001: %+v", h)
		}
		return nil
	})
	code, body := postJSON(t, "http://"+c.HTTPAddr+"/api/v1/terminals/t001/volume", `{"volume": 70}`)
	if code != 200 || body["volume"] != 70.0 {
		t.Fatalf("set volume: %d %v", code, body)
	}
	a.stop() // goodbye: offline at once, an event
	eventually(t, 5*time.Second, func() error {
		if evs := eventsFromAPI(t, c, "t001"); len(evs) != 2 || evs[0].What != "离线" {
			return fmt.Errorf("events %+v", evs)
		}
		return nil
	})
}
