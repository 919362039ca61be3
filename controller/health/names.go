package health

// Names for staff, in Chinese, of what the API and store name in English (the values of
// wire.FaultName and wire.WorkStateName; names_test.go checks every one has a name here).

var faultNames = map[string]string{
	"supply_current_low":     "供电电流过低",
	"amplifier_voltage_low":  "功放输出电压过低",
	"signal_weak":            "信号强度过低",
	"monitoring_unavailable": "监测不可用",
}

var workStateNames = map[string]string{"idle": "空闲", "playing": "播放中", "fault": "故障"}

// FaultChinese names a fault kind (wire.FaultName) for staff.
func FaultChinese(kind string) string {
	if n, ok := faultNames[kind]; ok {
		return n
	}
	return kind
}

// WorkStateChinese names a work state (wire.WorkStateName) for staff.
func WorkStateChinese(state string) string {
	if n, ok := workStateNames[state]; ok {
		return n
	}
	return state
}

// Describe says what an event means, for staff: "供电电流过低：故障", "离线", "恢复在线".
func (ev Event) Describe() string {
	if ev.Kind == KindCommandRejected {
		return describeRejection(ev.Detail)
	}
	if ev.Kind == KindOffline {
		if ev.Active {
			return "离线"
		}
		return "恢复在线"
	}
	if ev.Active {
		return FaultChinese(ev.Kind) + "：故障"
	}
	return FaultChinese(ev.Kind) + "：已恢复"
}
