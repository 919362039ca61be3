package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"dalaba/proto/wire"
)

// manager runs what the controller sees of this terminal besides broadcasts: the heartbeat,
// fault events and remote control.
type manager struct {
	hb      *heartbeat
	faults  *faults
	ctl     *control
	running sync.WaitGroup
}

// newManager hooks control commands and the heartbeat-on-connect into the session; call it
// before the session connects, since a persistent session may deliver commands at once.
// opts.Sink should already be tracked by busy.
func newManager(ctx context.Context, opts Options, s *session, vol *level, busy *activity) *manager {
	f := newFaults(opts, s.faultEvent)
	m := &manager{
		faults: f,
		hb:     &heartbeat{period: opts.Heartbeat, started: time.Now(), volume: vol, busy: busy, faults: f, send: s.telemetry},
		ctl:    &control{ctx: ctx, volume: vol, sink: opts.Sink, reply: s.reply, log: opts.Logger, now: s.now, offset: opts.ClockOffset},
	}
	s.onControl, s.onConnect = m.ctl.handle, m.hb.beat
	return m
}

// start runs the heartbeat and the fault watch until ctx ends.
func (m *manager) start(ctx context.Context) {
	m.running.Add(1)
	go func() { defer m.running.Done(); m.run(ctx) }()
}

// run beats and polls on one goroutine: a fleet simulator runs thousands of agents.
func (m *manager) run(ctx context.Context) {
	beat := time.NewTicker(m.hb.period)
	defer beat.Stop()
	var poll <-chan time.Time
	var wake <-chan struct{}
	if m.faults.src == nil {
		m.faults.log.Info("no health source: hardware faults are not monitored on this terminal")
	} else {
		t := time.NewTicker(m.faults.every)
		defer t.Stop()
		poll, wake = t.C, m.faults.wake()
		m.faults.poll(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			m.hb.beat()
		case <-poll:
			m.faults.poll(ctx)
		case <-wake:
			m.faults.poll(ctx)
		}
	}
}

// wait returns once nothing more will be published: no heartbeat may follow the goodbye.
func (m *manager) wait() {
	m.running.Wait()
	m.ctl.wait()
}

// checkHealth fills in the heartbeat and health defaults and refuses periods the controller
// would refuse.
func (o *Options) checkHealth() error {
	if o.Heartbeat == 0 {
		o.Heartbeat = wire.DefaultHeartbeatMs * time.Millisecond
	}
	if ms := o.Heartbeat.Milliseconds(); ms < wire.MinHeartbeatMs || ms > wire.MaxHeartbeatMs {
		return fmt.Errorf("heartbeat %v: want %v to %v", o.Heartbeat,
			wire.MinHeartbeatMs*time.Millisecond, wire.MaxHeartbeatMs*time.Millisecond)
	}
	if o.HealthPoll == 0 {
		o.HealthPoll = 5 * time.Second
	}
	if o.HealthPoll < 0 {
		return fmt.Errorf("health poll %v: want a positive period", o.HealthPoll)
	}
	return nil
}
