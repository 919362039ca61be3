package controller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
)

// Faults raised through the simulator's health source reach the controller as events: stored,
// listed by the API and ebctl, shown on the terminal (work state fault while idle) and gone
// once they recover.
func TestSimulatedFaultsAreStoredShownAndRecover(t *testing.T) {
	c := startController(t, "")
	a := startSimAgent(t, c, "t001", "361126104201001", 300*time.Millisecond)
	other := startSimAgent(t, c, "t002", "361126104201001", 300*time.Millisecond)

	a.health.Set(dalabapb.FaultKind_FAULT_KIND_SUPPLY_CURRENT_LOW, true, "0.12 A")
	a.health.Set(dalabapb.FaultKind_FAULT_KIND_SIGNAL_WEAK, true, "-101 dBm")
	eventually(t, 5*time.Second, func() error {
		h := terminalFromAPI(t, c, "t001")
		if h.WorkState != "fault" || len(h.Faults) != 2 || h.Faults[0].Kind != "supply_current_low" ||
			h.Faults[0].Name != "供电电流过低" || h.Faults[0].Detail != "0.12 A" || h.Faults[1].Kind != "signal_weak" {
			return fmt.Errorf("t001 in the API: %+v", h)
		}
		return nil
	})
	if h := terminalFromAPI(t, c, "t002"); h.WorkState != "idle" || len(h.Faults) != 0 {
		t.Fatalf("t002 has no fault: %+v", h)
	}
	// The heartbeat agrees with the events (it lists the active faults too).
	time.Sleep(2 * 300 * time.Millisecond)
	if h := terminalFromAPI(t, c, "t001"); h.WorkState != "fault" || len(h.Faults) != 2 {
		t.Fatalf("after heartbeats: %+v", h)
	}

	a.health.Set(dalabapb.FaultKind_FAULT_KIND_SUPPLY_CURRENT_LOW, false, "")
	a.health.Set(dalabapb.FaultKind_FAULT_KIND_SIGNAL_WEAK, false, "")
	eventually(t, 5*time.Second, func() error {
		if h := terminalFromAPI(t, c, "t001"); h.WorkState != "idle" || len(h.Faults) != 0 {
			return fmt.Errorf("t001 after recovery: %+v", h)
		}
		return nil
	})

	evs := eventsFromAPI(t, c, "t001")
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s/%v/%s", ev.Kind, ev.Active, ev.Detail))
	}
	// Newest first; the agent reports changes found in one poll in kind order.
	want := []string{"signal_weak/false/-101 dBm", "supply_current_low/false/0.12 A", "signal_weak/true/-101 dBm", "supply_current_low/true/0.12 A"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		// The two raises (or the two clears) may land in one poll or two: compare as sets per phase.
		if len(got) != 4 || !sameSet(got[:2], want[:2]) || !sameSet(got[2:], want[2:]) {
			t.Fatalf("stored events %v, want %v", got, want)
		}
	}
	if evs := eventsFromAPI(t, c, "t002"); len(evs) != 0 {
		t.Fatalf("t002 events: %+v", evs)
	}
	if n := metric(t, c, `dalaba_fault_events_total{active="true",kind="supply_current_low"}`); n != 1 {
		t.Errorf("fault counter %v, want 1", n)
	}

	out, code := ebctl(t, c, "events", "--terminal", "t001")
	if code != 0 {
		t.Fatalf("ebctl events: exit %d\n%s", code, out)
	}
	for _, s := range []string{"供电电流过低：故障", "供电电流过低：已恢复", "信号强度过低：故障", "共 4 条事件"} {
		if !strings.Contains(out, s) {
			t.Errorf("ebctl events lacks %q:\n%s", s, out)
		}
	}
	other.stop()
	eventually(t, 5*time.Second, func() error {
		if evs := eventsFromAPI(t, c, "t002"); len(evs) != 1 || evs[0].What != "离线" {
			return fmt.Errorf("t002 stopped: events %+v", evs)
		}
		return nil
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
