package receipts

import "time"

// Undelivered lists the open broadcasts a terminal that just came back should still get:
// those it was offline for, or was cut off from mid-play, whose validity window is still open;
// in a broadcast reopened after a restart (Reopen), also those it had not finished by the
// store's account: its last reports may have died with the old process. A terminal plays a
// broadcast id once, and answers a command for one it has finished with its final receipt
// again, so a copy it did not need costs nothing.
func (bk *Book) Undelivered(terminal string, now time.Time) []Broadcast {
	return bk.openFor(terminal, now, func(e *entry, rc *Receipt) bool {
		return rc.State == Offline || rc.State == Pending || rc.Reason == Disconnected || (e.reopened && !rc.State.Final())
	})
}

// Unfinished lists the open broadcasts, within their window, that a terminal has not finished
// by the controller's account, for a terminal that reconnected without ever being seen
// offline: a broker that restarted and lost its sessions dropped the commands queued for it,
// and the reports it sent before the controller had subscribed again.
func (bk *Book) Unfinished(terminal string, now time.Time) []Broadcast {
	return bk.openFor(terminal, now, func(_ *entry, rc *Receipt) bool {
		return !rc.State.Final() || rc.State == Offline || rc.Reason == Disconnected
	})
}

func (bk *Book) openFor(terminal string, now time.Time, want func(*entry, *Receipt) bool) []Broadcast {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	var out []Broadcast
	for _, e := range bk.open {
		rc, ok := e.receipts[terminal]
		if !ok || !now.Before(e.b.ValidUntil) || e.state == StateCancelled {
			continue
		}
		if want(e, rc) {
			out = append(out, e.b)
		}
	}
	return out
}
