package dispatch

import (
	"time"

	"dalaba/controller/receipts"
	"dalaba/proto/wire"
)

// Redeliver sends a terminal that came back online every broadcast still meant for it. The
// broker's persistent session usually has them queued already; this covers a terminal the
// broker never knew, a broker that restarted and lost its sessions, and an agent that took the
// command and crashed before acting on it: that agent refuses the queued copy as a replay
// (its signature's sequence number is below the floor it kept), but each copy sent here is
// signed anew with a fresh number. The agent plays a broadcast id once, so a second copy
// costs nothing.
func (d *Dispatcher) Redeliver(terminal string) {
	d.sendAgain(terminal, d.Book.Undelivered(terminal, time.Now()))
}

// Resync sends a terminal that reconnected without being seen offline (the broker restarted
// under it) every open broadcast it has not finished: commands queued for it and reports it
// sent may both have been lost with the broker. A terminal answers a copy of one it has
// finished with its final receipt again, and ignores one it is playing.
func (d *Dispatcher) Resync(terminal string) {
	d.sendAgain(terminal, d.Book.Unfinished(terminal, time.Now()))
}

func (d *Dispatcher) sendAgain(terminal string, bs []receipts.Broadcast) {
	for _, b := range bs {
		to := []wire.Address{{Tier: wire.TierTerminal, Code: terminal}}
		if err := d.publish(b, to); err != nil {
			d.Log.Warn("redeliver", "terminal", terminal, "broadcast", b.ID, "err", err)
			continue
		}
		d.Log.Info("redelivered", "terminal", terminal, "broadcast", b.ID)
	}
}
