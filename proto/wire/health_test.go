package wire

import (
	"testing"

	"dalaba/proto/dalabapb"
)

func TestFaultNamesBothWays(t *testing.T) {
	want := map[dalabapb.FaultKind]string{
		dalabapb.FaultKind_FAULT_KIND_SUPPLY_CURRENT_LOW:     "supply_current_low",
		dalabapb.FaultKind_FAULT_KIND_AMPLIFIER_VOLTAGE_LOW:  "amplifier_voltage_low",
		dalabapb.FaultKind_FAULT_KIND_SIGNAL_WEAK:            "signal_weak",
		dalabapb.FaultKind_FAULT_KIND_MONITORING_UNAVAILABLE: "monitoring_unavailable",
	}
	for k := range dalabapb.FaultKind_name {
		kind := dalabapb.FaultKind(k)
		if kind != dalabapb.FaultKind_FAULT_KIND_UNSPECIFIED && want[kind] == "" {
			t.Errorf("fault kind %v has no expected name here: add it", kind)
		}
	}
	for kind, name := range want {
		if got := FaultName(kind); got != name {
			t.Errorf("FaultName(%v) = %q, want %q", kind, got, name)
		}
		if got, ok := ParseFault(name); !ok || got != kind {
			t.Errorf("ParseFault(%q) = %v, %v", name, got, ok)
		}
	}
	for _, bad := range []string{"", "unspecified", "SUPPLY_CURRENT_LOW", "fire", "supply current low"} {
		if k, ok := ParseFault(bad); ok {
			t.Errorf("ParseFault(%q) = %v, want refused", bad, k)
		}
	}
	for _, k := range []dalabapb.FaultKind{dalabapb.FaultKind_FAULT_KIND_UNSPECIFIED, 99, -1} {
		if ValidFault(k) || FaultName(k) != "" {
			t.Errorf("kind %d taken as valid", k)
		}
	}
}

func TestWorkStateNames(t *testing.T) {
	for s, want := range map[dalabapb.WorkState]string{
		dalabapb.WorkState_WORK_STATE_IDLE: "idle", dalabapb.WorkState_WORK_STATE_PLAYING: "playing",
		dalabapb.WorkState_WORK_STATE_FAULT: "fault", dalabapb.WorkState_WORK_STATE_UNSPECIFIED: "", 42: "",
	} {
		if got := WorkStateName(s); got != want {
			t.Errorf("WorkStateName(%d) = %q, want %q", s, got, want)
		}
	}
}
