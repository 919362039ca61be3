package priority

import "testing"

// The ladder, top to bottom, as the national rule and the issue state it.
func TestLadderOrder(t *testing.T) {
	lvl := func(upper bool, s Severity) Level {
		l, err := Emergency(upper, s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ladder := []struct {
		name string
		l    Level
	}{
		{"upper red", lvl(true, Red)}, {"upper orange", lvl(true, Orange)}, {"upper yellow", lvl(true, Yellow)},
		{"upper blue", lvl(true, Blue)}, {"local red", lvl(false, Red)}, {"local orange", lvl(false, Orange)},
		{"local yellow", lvl(false, Yellow)}, {"local blue", lvl(false, Blue)}, {"shout", Shout},
		{"routine", Routine}, {"background", Background},
	}
	for i := range ladder {
		for j := range ladder {
			a, b := ladder[i], ladder[j]
			want := i < j // earlier in the list preempts later
			if got := a.l.Preempts(b.l); got != want {
				t.Errorf("%s (%d) preempts %s (%d) = %v, want %v", a.name, a.l, b.name, b.l, got, want)
			}
		}
		if !ladder[i].l.Valid() {
			t.Errorf("%s (%d) not valid", ladder[i].name, ladder[i].l)
		}
	}
}

func TestEmergencyLevels(t *testing.T) {
	cases := []struct {
		upper      bool
		s          Severity
		want       Level
		emergency  bool
		upperLevel bool
		name       string
	}{
		{true, Red, 104, true, true, "upper-emergency-1"},
		{true, Blue, 101, true, true, "upper-emergency-4"},
		{true, Unknown, 101, true, true, "upper-emergency-4"}, // unknown ranks with blue
		{false, Red, 84, true, false, "emergency-1"},
		{false, Yellow, 82, true, false, "emergency-3"},
		{false, Unknown, 81, true, false, "emergency-4"},
	}
	for _, c := range cases {
		got, err := Emergency(c.upper, c.s)
		if err != nil || got != c.want {
			t.Errorf("Emergency(%v, %d) = %d, %v; want %d", c.upper, c.s, got, err, c.want)
		}
		if got.IsEmergency() != c.emergency || got.IsUpper() != c.upperLevel || got.String() != c.name {
			t.Errorf("level %d: emergency %v upper %v name %q", got, got.IsEmergency(), got.IsUpper(), got.String())
		}
	}
	for _, bad := range []Severity{-1, 5, 10, 21} {
		if l, err := Emergency(false, bad); err == nil {
			t.Errorf("severity %d accepted as level %d", bad, l)
		}
	}
}

func TestEqualLevelsQueueAndResumePolicy(t *testing.T) {
	for _, l := range []Level{Background, Routine, Shout, 84, 104} {
		if l.Preempts(l) {
			t.Errorf("level %v preempts itself: equal levels must queue", l)
		}
	}
	if Shout.Resumes() {
		t.Error("live speech marked resumable")
	}
	for _, l := range []Level{Background, Routine, 81, 104} {
		if !l.Resumes() {
			t.Errorf("stored program at %v not resumable", l)
		}
	}
	for _, l := range []Level{0, 1, 49, 51, 80, 85, 100, 105, 200, -3} {
		if l.Valid() {
			t.Errorf("level %d taken as valid", l)
		}
	}
}
