package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/terminal-agent/sink"
)

// cannedSource is a health source with canned answers.
type cannedSource struct {
	faults []Fault
	err    error
}

func (c *cannedSource) Poll(context.Context) ([]Fault, error) { return c.faults, c.err }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestFaultsPublishOnlyChanges(t *testing.T) {
	src := &cannedSource{}
	var got []string
	f := newFaults(Options{Health: src, HealthPoll: time.Second, Logger: quiet}, func(e *dalabapb.FaultEvent) {
		got = append(got, fmt.Sprintf("%v=%v:%s", e.Kind, e.Active, e.Detail))
	})
	ctx := context.Background()
	step := func(want ...string) {
		t.Helper()
		got = nil
		f.poll(ctx)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("published %v, want %v", got, want)
		}
	}
	supply := dalabapb.FaultKind_FAULT_KIND_SUPPLY_CURRENT_LOW
	step() // healthy: nothing to say
	src.faults = []Fault{{Kind: supply, Detail: "0.1 A"}, {Kind: 42, Detail: "not a kind"}}
	step("FAULT_KIND_SUPPLY_CURRENT_LOW=true:0.1 A") // the unknown kind is ignored
	step()                                           // still there: no repeat
	src.faults, src.err = nil, errors.New("i2c read failed")
	// Unreadable hardware: the supply fault cannot be seen any more, monitoring is the fault.
	step("FAULT_KIND_SUPPLY_CURRENT_LOW=false:0.1 A", "FAULT_KIND_MONITORING_UNAVAILABLE=true:i2c read failed")
	if l := f.list(); len(l) != 1 || l[0] != dalabapb.FaultKind_FAULT_KIND_MONITORING_UNAVAILABLE {
		t.Fatalf("active %v", l)
	}
	src.err = nil
	step("FAULT_KIND_MONITORING_UNAVAILABLE=false:i2c read failed")
}

func TestWorkState(t *testing.T) {
	for _, tc := range []struct {
		playing bool
		faults  int
		want    dalabapb.WorkState
	}{
		{false, 0, dalabapb.WorkState_WORK_STATE_IDLE},
		{true, 0, dalabapb.WorkState_WORK_STATE_PLAYING},
		{false, 2, dalabapb.WorkState_WORK_STATE_FAULT},
		{true, 1, dalabapb.WorkState_WORK_STATE_PLAYING}, // a horn that sounds is playing
	} {
		if got := workState(tc.playing, tc.faults); got != tc.want {
			t.Errorf("workState(%v, %d) = %v, want %v", tc.playing, tc.faults, got, tc.want)
		}
	}
}

func TestControlCommands(t *testing.T) {
	vol, _ := newLevel(100)
	busy := new(activity)
	out := sink.NewNull()
	defer out.Close()
	replies := make(chan *dalabapb.ControlReply, 1)
	c := &control{ctx: context.Background(), volume: vol, sink: busy.track(out), log: quiet,
		reply: func(r *dalabapb.ControlReply) { replies <- r }}
	do := func(op *dalabapb.ControlCommand) *dalabapb.ControlReply {
		t.Helper()
		op.RequestId = "r1"
		c.handle(op)
		select {
		case r := <-replies:
			if r.RequestId != "r1" {
				t.Fatalf("reply to %q", r.RequestId)
			}
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no reply")
			return nil
		}
	}
	setVolume := func(v int32) *dalabapb.ControlCommand {
		return &dalabapb.ControlCommand{Op: &dalabapb.ControlCommand_SetVolume{SetVolume: &dalabapb.SetVolume{Volume: v}}}
	}
	if r := do(setVolume(60)); !r.Ok || r.Volume != 60 {
		t.Fatalf("set 60: %+v", r)
	}
	if r := do(setVolume(101)); r.Ok || r.Error == "" || r.Volume != 60 {
		t.Fatalf("set 101: %+v, want refused with 60 kept", r)
	}
	now := time.Now().UnixMilli()
	r := do(&dalabapb.ControlCommand{Op: &dalabapb.ControlCommand_ClockCheck{ClockCheck: &dalabapb.ClockCheck{ControllerUnixMs: now - 5000}}})
	if !r.Ok || r.ClockOffsetMs < 5000 || r.ClockOffsetMs > 5500 {
		t.Fatalf("clock check against a controller 5 s behind: %+v", r)
	}
	r = do(&dalabapb.ControlCommand{Op: &dalabapb.ControlCommand_SelfTest{SelfTest: &dalabapb.SelfTest{}}})
	st := r.GetSelfTest()
	// Defaults: 1 kHz, 500 ms at 0.05, scaled by the volume (60).
	if !r.Ok || st.DurationMs != 500 || math.Abs(st.Peak-0.03) > 0.001 || st.Volume != 60 {
		t.Fatalf("self-test: %+v", r)
	}
	r = do(&dalabapb.ControlCommand{Op: &dalabapb.ControlCommand_SelfTest{SelfTest: &dalabapb.SelfTest{ToneHz: 8000}}})
	if r.Ok || !strings.Contains(r.Error, "8000 Hz") {
		t.Fatalf("self-test at Nyquist: %+v", r)
	}
	if r := do(&dalabapb.ControlCommand{}); r.Ok {
		t.Fatalf("empty command: %+v", r)
	}
	c.wait()
	if busy.playing() {
		t.Fatal("still playing after the self-test")
	}
}
