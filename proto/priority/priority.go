// Package priority is the one priority ladder that the controller and the terminal agents
// share. The national rule is "upper level before lower, emergency before routine"
// (上级优先于下级、应急优先于日常):
//
//	upper-level emergency, severity 1..4   104..101
//	this town's emergency, severity 1..4    84..81
//	live shouting                           70
//	scheduled disclosure / routine          50
//	background                              10
//
// A higher level preempts a lower one on a terminal at once; equal levels queue in arrival
// order. Policy for what was cut off (see Resumes):
//   - a stored program (routine, background, emergency) goes back to the head of its level's
//     queue and, when its turn comes again, resumes ResumeRewind before the point where it was
//     cut, so listeners catch the sentence; if its validity window has closed by then it fails
//     as expired;
//   - live speech cannot be resumed: the terminal drops out of that shout (failed/preempted).
package priority

import (
	"fmt"
	"time"
)

// Level is a broadcast's place on the ladder; it travels as PlayCommand.priority.
type Level int32

const (
	Background Level = 10
	Routine    Level = 50 // scheduled disclosure and ad-hoc announcements
	Shout      Level = 70 // live shouting (喊话)
	// localEmergency and upperEmergency are the bases of the emergency bands; severity lifts
	// a broadcast within its band (red highest).
	localEmergency Level = 80
	upperEmergency Level = 100
)

// ResumeRewind is how far before the cut a preempted program resumes.
const ResumeRewind = 2 * time.Second

// Severity is an emergency's grade (GD/J 082): 1 特别重大 red, 2 重大 orange, 3 较大 yellow,
// 4 一般 blue. 0 (unknown) ranks with blue.
type Severity int32

const (
	Red     Severity = 1
	Orange  Severity = 2
	Yellow  Severity = 3
	Blue    Severity = 4
	Unknown Severity = 0
)

// Valid reports whether s is a severity the standard defines (0 to 4).
func (s Severity) Valid() bool { return s >= Unknown && s <= Blue }

// Chinese is the severity as staff read it.
func (s Severity) Chinese() string {
	switch s {
	case Red:
		return "Ⅰ级（特别重大，红色）"
	case Orange:
		return "Ⅱ级（重大，橙色）"
	case Yellow:
		return "Ⅲ级（较大，黄色）"
	case Blue:
		return "Ⅳ级（一般，蓝色）"
	}
	return "未知级别"
}

// Emergency is the level of an emergency broadcast: from an upper-level platform (county and
// above) or from this town, by severity.
func Emergency(upper bool, s Severity) (Level, error) {
	if !s.Valid() {
		return 0, fmt.Errorf("severity %d: want 1 (red) to 4 (blue), or 0 for unknown", s)
	}
	if s == Unknown {
		s = Blue
	}
	base := localEmergency
	if upper {
		base = upperEmergency
	}
	return base + Level(Blue-s) + 1, nil
}

// Preempts reports whether a broadcast at level l cuts off one playing at level playing.
// Equal levels do not preempt: they queue in arrival order.
func (l Level) Preempts(playing Level) bool { return l > playing }

// IsEmergency reports whether l is in either emergency band.
func (l Level) IsEmergency() bool {
	return l.IsUpper() || (l > localEmergency && l <= localEmergency+Level(Blue))
}

// IsUpper reports whether l is an upper-level platform's emergency.
func (l Level) IsUpper() bool { return l > upperEmergency && l <= upperEmergency+Level(Blue) }

// Resumes reports whether a program at level l that was preempted comes back afterwards.
// Live speech does not: what was said while the horn was taken is gone.
func (l Level) Resumes() bool { return l != Shout }

// Valid reports whether l is a level on the ladder (what an agent accepts in a command).
func (l Level) Valid() bool {
	return l == Background || l == Routine || l == Shout || l.IsEmergency()
}

// String names the level for logs.
func (l Level) String() string {
	switch {
	case l == Background:
		return "background"
	case l == Routine:
		return "routine"
	case l == Shout:
		return "shout"
	case l.IsUpper():
		return fmt.Sprintf("upper-emergency-%d", upperEmergency+Level(Blue)+1-l)
	case l.IsEmergency():
		return fmt.Sprintf("emergency-%d", localEmergency+Level(Blue)+1-l)
	}
	return fmt.Sprintf("level-%d", int32(l))
}

// Chinese names the level for staff.
func (l Level) Chinese() string {
	switch {
	case l == Background:
		return "背景节目"
	case l == Routine:
		return "日常播发"
	case l == Shout:
		return "实时喊话"
	case l.IsUpper():
		return "上级应急广播"
	case l.IsEmergency():
		return "本级应急广播"
	}
	return "未知优先级"
}
