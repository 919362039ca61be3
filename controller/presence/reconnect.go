package presence

// An agent announces itself (status online, retained, with the time it connected) at every
// connect. One that was online and announces itself again has reconnected without the
// controller seeing it leave: a broker restarted under both, and dropped no Last Will. What was
// queued for it, and what it reported meanwhile, may be lost: OnReconnect is told, so the
// controller can bring it up to date.

// OnReconnect sets what to do when an online terminal announces a new connection; set it
// before messages flow.
func (t *Tracker) OnReconnect(f func(id string)) { t.onReconnect = f }

// announcedLocked records the connection time an online status carries and reports whether it
// is a new connection of a terminal already online. Caller holds mu.
func (t *Tracker) announcedLocked(from string, wasOnline bool, at int64) bool {
	if t.announced == nil {
		t.announced = map[string]int64{}
	}
	last, seen := t.announced[from]
	t.announced[from] = at
	return wasOnline && seen && at != last
}
