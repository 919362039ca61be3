package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/terminal-agent/sink"
)

// control carries out the controller's control commands (volume, clock check, self-test) and
// answers each with a ControlReply carrying its request id.
type control struct {
	ctx    context.Context // the agent's life: a self-test still waiting when it ends is dropped
	volume *level
	sink   sink.Sink
	reply  func(*dalabapb.ControlReply)
	log    *slog.Logger
	now    func() time.Time // the agent's clock; nil: time.Now
	offset time.Duration    // simulated clock offset: the agent's clock minus real time
	tests  sync.WaitGroup
}

// handle runs on paho's goroutine: everything but the self-test is immediate, and the
// self-test, which must wait for the sink's turn behind any broadcast, runs on its own.
func (c *control) handle(cmd *dalabapb.ControlCommand) {
	r := &dalabapb.ControlReply{RequestId: cmd.GetRequestId()}
	log := c.log.With("request", cmd.GetRequestId())
	switch op := cmd.GetOp().(type) {
	case *dalabapb.ControlCommand_SetVolume:
		if err := c.volume.Set(op.SetVolume.GetVolume()); err != nil {
			r.Error = err.Error()
		} else {
			r.Ok = true
			log.Info("volume set", "volume", op.SetVolume.GetVolume())
		}
	case *dalabapb.ControlCommand_ClockCheck:
		// The transit time is in this figure too; the controller, which knows the round
		// trip, makes the finer estimate.
		r.Ok, r.ClockOffsetMs = true, c.clock().UnixMilli()-op.ClockCheck.GetControllerUnixMs()
	case *dalabapb.ControlCommand_SelfTest:
		c.tests.Add(1)
		go func() {
			defer c.tests.Done()
			c.selfTest(op.SelfTest, r, log)
			c.send(r)
		}()
		return
	default:
		r.Error = "unknown control operation"
	}
	c.send(r)
}

func (c *control) send(r *dalabapb.ControlReply) {
	r.Volume = c.volume.Get()
	if !r.Ok {
		c.log.Warn("control command failed", "request", r.RequestId, "err", r.Error)
	}
	c.reply(r)
}

// wait returns once no self-test is running.
func (c *control) wait() { c.tests.Wait() }

func (c *control) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}
