package presence

// Liveness, after Nomad's heartbeat.go: one timer per terminal, reset by everything the
// terminal says (heartbeat, status, receipt). A terminal silent for wire.MissedBeats of the
// heartbeat periods it declared is offline, by the same path as its Last Will, even while its
// TCP connection stands (a hung agent keeps the broker from ever publishing the Will).
// The timer is armed only once a terminal has declared its period in a heartbeat.

import (
	"fmt"
	"time"

	"dalaba/proto/wire"
)

type liveness struct {
	period map[string]time.Duration // declared heartbeat period
	heard  map[string]time.Time     // last time the terminal said anything
	timers map[string]*time.Timer
	down   map[string]bool // went offline during this run: its return is worth recording
}

// OnChange sets what to do when a terminal goes offline or comes back (after an offline this
// run): cause says why. Set it before messages flow.
func (t *Tracker) OnChange(f func(id string, online bool, cause string, at time.Time)) {
	t.onChange = f
}

// Heartbeat takes a heartbeat from terminal from, sent at sentAt on its own clock, which
// promises the next within period. A terminal that is offline (its heartbeats had stopped) is
// online again, unless the heartbeat was sent before the terminal's goodbye: heartbeats and
// status travel on different topics, so a late one can arrive after the goodbye it preceded.
func (t *Tracker) Heartbeat(from, version string, period time.Duration, sentAt time.Time) error {
	if !t.known(from) {
		return fmt.Errorf("heartbeat from unknown terminal %q", from)
	}
	now := time.Now()
	t.mu.Lock()
	t.lazyInit()
	if bye, ok := t.goodbye[from]; ok && !sentAt.After(bye) {
		t.mu.Unlock()
		t.log.Debug("heartbeat sent before the goodbye: ignored", "terminal", from, "sent", sentAt, "goodbye", bye)
		return nil
	}
	t.live.period[from] = period
	prev := t.state[from]
	t.state[from] = Presence{Online: true, LastSeen: now, Version: version}
	t.dirty[from] = now
	t.heardLocked(from, now, true)
	t.mu.Unlock()
	if !prev.Online {
		t.log.Info("terminal online: heartbeat", "terminal", from)
		if t.onOnline != nil {
			t.onOnline(from)
		}
		t.changed(from, true, "heartbeat", now)
	}
	return nil
}

// Touch resets a terminal's timer: it said something (a receipt).
func (t *Tracker) Touch(from string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state[from].Online {
		t.heardLocked(from, time.Now(), true)
	}
}

// heardLocked re-arms (online) or disarms (offline) a terminal's timer. Caller holds mu.
func (t *Tracker) heardLocked(id string, now time.Time, online bool) {
	t.lazyInit()
	if timer := t.live.timers[id]; timer != nil {
		timer.Stop()
		delete(t.live.timers, id)
	}
	period, ok := t.live.period[id]
	if !online || !ok || t.stopped {
		return
	}
	t.live.heard[id] = now
	ttl := wire.MissedBeats * period
	t.live.timers[id] = time.AfterFunc(ttl, func() { t.expire(id, ttl) })
}

// expire marks a terminal offline if it is still silent: a heartbeat that reset the timer
// just as it fired wins.
func (t *Tracker) expire(id string, ttl time.Duration) {
	now := time.Now()
	t.mu.Lock()
	p := t.state[id]
	silent := now.Sub(t.live.heard[id])
	if !p.Online || silent < ttl || t.stopped {
		t.mu.Unlock()
		return
	}
	p.Online = false
	t.state[id] = p
	delete(t.live.timers, id)
	t.mu.Unlock()
	cause := fmt.Sprintf("no heartbeat for %v (%d periods of %v)", silent.Round(time.Millisecond), wire.MissedBeats, ttl/wire.MissedBeats)
	t.log.Warn("terminal offline: heartbeat expired", "terminal", id, "silent", silent.Round(time.Millisecond))
	t.onOffline(id, now) // as for the Last Will: open receipts fail as disconnected
	t.changed(id, false, cause, now)
}

// changed reports a transition to onChange: every offline, and a return after one (the first
// connect after the controller starts is not news). Called without mu.
func (t *Tracker) changed(id string, online bool, cause string, at time.Time) {
	t.mu.Lock()
	t.lazyInit()
	news := !online || t.live.down[id]
	t.live.down[id] = !online
	t.mu.Unlock()
	if news && t.onChange != nil {
		t.onChange(id, online, cause, at)
	}
}

// Stop disarms every timer; the controller calls it on the way down.
func (t *Tracker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	for id, timer := range t.live.timers {
		timer.Stop()
		delete(t.live.timers, id)
	}
}

// lazyInit makes the maps, so New needs no change. Caller holds mu.
func (t *Tracker) lazyInit() {
	if t.live.timers == nil {
		t.live = liveness{period: map[string]time.Duration{}, heard: map[string]time.Time{},
			timers: map[string]*time.Timer{}, down: map[string]bool{}}
	}
}
