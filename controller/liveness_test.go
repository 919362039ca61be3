package controller_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A terminal is online while its heartbeats come; a hung agent (SIGSTOP: its TCP connection
// stays up, so the broker never publishes its Last Will) is offline within two periods, and
// online again when it resumes. Each change is a stored event.
func TestHeartbeatKeepsOnlineAndHungAgentGoesOfflineWithinTwoPeriods(t *testing.T) {
	const period = 300 * time.Millisecond
	c := startController(t, "")
	a := startAgent(t, c, "", "t001", "361126104201001", "--heartbeat", period.String())
	waitOnline(t, c, a)
	eventually(t, 5*time.Second, func() error {
		if h := terminalFromAPI(t, c, "t001"); h.HeartbeatMs == nil || *h.HeartbeatMs != 300 || h.WorkState != "idle" {
			return fmt.Errorf("terminal in the API: %+v", h)
		}
		return nil
	})

	// Eight periods of heartbeats: never offline for a moment.
	for end := time.Now().Add(8 * period); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !c.Presence.Get("t001").Online {
			t.Fatal("a terminal sending heartbeats went offline")
		}
	}
	if evs := eventsFromAPI(t, c, "t001"); len(evs) != 0 {
		t.Fatalf("events while healthy: %+v", evs)
	}

	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	hung := time.Now()
	resumed := false
	defer func() {
		if !resumed {
			a.cmd.Process.Signal(syscall.SIGCONT) // so that cleanup can stop it
		}
	}()
	eventually(t, 5*time.Second, func() error {
		if c.Presence.Get("t001").Online {
			return fmt.Errorf("hung t001 still online after %v", time.Since(hung))
		}
		return nil
	})
	// The last heartbeat came at most one period before the hang; expiry is two periods after
	// it. Allow the polling step and some scheduling on a loaded machine.
	if took := time.Since(hung); took > 2*period+200*time.Millisecond {
		t.Errorf("hung agent noticed after %v, want within 2 periods (%v)", took, 2*period)
	}
	evs := eventsFromAPI(t, c, "t001")
	if len(evs) != 1 || evs[0].Kind != "offline" || !evs[0].Active || evs[0].What != "离线" || !strings.Contains(evs[0].Detail, "no heartbeat") {
		t.Fatalf("events after the hang: %+v, want one offline event for the missed heartbeats", evs)
	}

	a.cmd.Process.Signal(syscall.SIGCONT)
	resumed = true
	eventually(t, 5*time.Second, func() error {
		if !c.Presence.Get("t001").Online {
			return fmt.Errorf("resumed t001 not online")
		}
		return nil
	})
	evs = eventsFromAPI(t, c, "t001")
	if len(evs) != 2 || evs[0].Kind != "offline" || evs[0].Active || evs[0].What != "恢复在线" {
		t.Fatalf("events after resuming: %+v, want back online on top", evs)
	}
}

// A terminal that loses power is offline by its Last Will, long before its heartbeat (30 s by
// default) would tell.
func TestLastWillStillMarksOffline(t *testing.T) {
	c := startController(t, "")
	a := startAgent(t, c, "", "t003", "361126104201002")
	waitOnline(t, c, a)
	a.kill()
	killed := time.Now()
	eventually(t, 5*time.Second, func() error {
		if c.Presence.Get("t003").Online {
			return fmt.Errorf("t003 still online")
		}
		return nil
	})
	if took := time.Since(killed); took > 3*time.Second {
		t.Errorf("Last Will took %v", took)
	}
	evs := eventsFromAPI(t, c, "t003")
	if len(evs) != 1 || !evs[0].Active || !strings.Contains(evs[0].Detail, "Last Will") {
		t.Fatalf("events: %+v, want one offline event from the status topic", evs)
	}
}
