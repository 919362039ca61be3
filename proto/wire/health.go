package wire

import (
	"strings"

	"dalaba/proto/dalabapb"
)

// Heartbeat bounds: a terminal declares its period in every Telemetry and the controller marks
// it offline after MissedBeats periods of silence.
const (
	DefaultHeartbeatMs = 30_000
	MinHeartbeatMs     = 100
	MaxHeartbeatMs     = 3_600_000
	MissedBeats        = 2
)

// FaultName is a fault kind's stable name in the API, the store and the simulator
// ("supply_current_low"); "" for an unspecified or unknown kind.
func FaultName(k dalabapb.FaultKind) string {
	if !ValidFault(k) {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(k.String(), "FAULT_KIND_"))
}

// ParseFault reads a name made by FaultName, in that spelling only.
func ParseFault(name string) (dalabapb.FaultKind, bool) {
	v, ok := dalabapb.FaultKind_value["FAULT_KIND_"+strings.ToUpper(name)]
	k := dalabapb.FaultKind(v)
	return k, ok && ValidFault(k) && FaultName(k) == name
}

// ValidFault reports whether k is a fault kind this schema defines.
func ValidFault(k dalabapb.FaultKind) bool {
	_, ok := dalabapb.FaultKind_name[int32(k)]
	return ok && k != dalabapb.FaultKind_FAULT_KIND_UNSPECIFIED
}

// WorkStateName is "idle", "playing" or "fault"; "" for an unspecified or unknown state.
func WorkStateName(s dalabapb.WorkState) string {
	if _, ok := dalabapb.WorkState_name[int32(s)]; !ok || s == dalabapb.WorkState_WORK_STATE_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORK_STATE_"))
}
