package control

import (
	"fmt"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// SetVolume sets the output volume, 0 (mute) to 100 percent.
func SetVolume(percent int32) *dalabapb.ControlCommand {
	return &dalabapb.ControlCommand{Op: &dalabapb.ControlCommand_SetVolume{SetVolume: &dalabapb.SetVolume{Volume: percent}}}
}

// ClockCheck asks the terminal for its clock; Send stamps the controller's time.
func ClockCheck() *dalabapb.ControlCommand {
	return &dalabapb.ControlCommand{Op: &dalabapb.ControlCommand_ClockCheck{ClockCheck: &dalabapb.ClockCheck{}}}
}

// SelfTest plays a tone through the terminal's sound card; zero values take the terminal's
// defaults (1 kHz, 500 ms, level 0.05).
func SelfTest(hz, ms int32, level float64) *dalabapb.ControlCommand {
	return &dalabapb.ControlCommand{Op: &dalabapb.ControlCommand_SelfTest{SelfTest: &dalabapb.SelfTest{ToneHz: hz, DurationMs: ms, Level: level}}}
}

// InputError is a command that cannot be sent as asked; Message is for staff, in Chinese.
type InputError struct {
	Field   string
	Message string
	Err     error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Field, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// TerminalError is a terminal's answer that it could not do what was asked.
type TerminalError struct {
	Terminal, Message string
}

func (e *TerminalError) Error() string { return fmt.Sprintf("terminal %s: %s", e.Terminal, e.Message) }

// Validate checks a command before it goes out: the same bounds the agent applies, so that
// staff get a clear answer at once instead of a refusal from the terminal.
func Validate(cmd *dalabapb.ControlCommand) error {
	switch op := cmd.GetOp().(type) {
	case *dalabapb.ControlCommand_SetVolume:
		if v := op.SetVolume.GetVolume(); v < 0 || v > 100 {
			return &InputError{Field: "volume", Message: "音量应为 0 到 100 之间的整数（0 为静音）", Err: fmt.Errorf("volume %d out of 0..100", v)}
		}
	case *dalabapb.ControlCommand_ClockCheck:
	case *dalabapb.ControlCommand_SelfTest:
		st := op.SelfTest
		if hz := st.GetToneHz(); hz != 0 && (hz < 20 || hz >= wire.SampleRate/2) {
			return &InputError{Field: "tone_hz", Message: fmt.Sprintf("测试音频率应为 20 到 %d 赫兹", wire.SampleRate/2-1), Err: fmt.Errorf("tone %d Hz", hz)}
		}
		if ms := st.GetDurationMs(); ms != 0 && (ms < 10 || ms > 10_000) {
			return &InputError{Field: "duration_ms", Message: "测试音时长应为 10 到 10000 毫秒", Err: fmt.Errorf("duration %d ms", ms)}
		}
		if l := st.GetLevel(); l != 0 && !(l > 0 && l <= 1) {
			return &InputError{Field: "level", Message: "测试音电平应大于 0、不超过 1", Err: fmt.Errorf("level %g", l)}
		}
	default:
		return &InputError{Field: "op", Message: "不支持的控制命令", Err: fmt.Errorf("no operation")}
	}
	return nil
}

func opName(cmd *dalabapb.ControlCommand) string {
	switch cmd.GetOp().(type) {
	case *dalabapb.ControlCommand_SetVolume:
		return "set_volume"
	case *dalabapb.ControlCommand_ClockCheck:
		return "clock_check"
	case *dalabapb.ControlCommand_SelfTest:
		return "self_test"
	}
	return "unknown"
}
