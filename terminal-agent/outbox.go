package agent

import (
	"sync"
	"time"

	"dalaba/proto/dalabapb"
)

// coalesceWindow is how long received and fetched receipts are held back for a later one.
const coalesceWindow = 300 * time.Millisecond

// outbox sends a terminal's receipts, holding received and fetched back briefly: when the next
// step follows within the window (the usual case, a short program fetches in milliseconds),
// only the later receipt goes out, carrying the earlier steps' times. A town-wide broadcast then
// costs the broker one message per terminal before playing instead of three. A slow fetch still
// shows as received after the window.
type outbox struct {
	send func(*dalabapb.Receipt)
	now  func() time.Time // the agent's clock; nil: time.Now

	mu                    sync.Mutex
	broadcast             string
	receivedAt, fetchedAt int64 // this terminal's clock, for the broadcast in progress
	held                  *dalabapb.Receipt
	timer                 *time.Timer
}

func (o *outbox) report(r *dalabapb.Receipt) {
	clock := o.now
	if clock == nil {
		clock = time.Now
	}
	now := clock().UnixMilli()
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.BroadcastId != o.broadcast {
		o.flushLocked()
		o.broadcast, o.receivedAt, o.fetchedAt = r.BroadcastId, 0, 0
	}
	switch r.State {
	case dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED:
		o.receivedAt = now
	case dalabapb.ReceiptState_RECEIPT_STATE_FETCHED:
		o.fetchedAt = now
	}
	r.ReceivedUnixMs, r.FetchedUnixMs = o.receivedAt, o.fetchedAt
	if r.State == dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED || r.State == dalabapb.ReceiptState_RECEIPT_STATE_FETCHED {
		o.held = r
		if o.timer == nil {
			o.timer = time.AfterFunc(coalesceWindow, o.flush)
		}
		return
	}
	o.held = nil
	o.stopTimerLocked()
	o.send(r)
}

func (o *outbox) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.timer = nil
	o.flushLocked()
}

func (o *outbox) flushLocked() {
	o.stopTimerLocked()
	if o.held != nil {
		o.send(o.held)
		o.held = nil
	}
}

func (o *outbox) stopTimerLocked() {
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}
