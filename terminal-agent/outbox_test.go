package agent

import (
	"sync"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
)

type sent struct {
	mu  sync.Mutex
	got []*dalabapb.Receipt
}

func (s *sent) send(r *dalabapb.Receipt) { s.mu.Lock(); s.got = append(s.got, r); s.mu.Unlock() }
func (s *sent) states() []dalabapb.ReceiptState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dalabapb.ReceiptState
	for _, r := range s.got {
		out = append(out, r.State)
	}
	return out
}

const (
	received = dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED
	fetched  = dalabapb.ReceiptState_RECEIPT_STATE_FETCHED
	playing  = dalabapb.ReceiptState_RECEIPT_STATE_PLAYING
	done     = dalabapb.ReceiptState_RECEIPT_STATE_DONE
)

func TestOutboxCoalescesQuickSteps(t *testing.T) {
	var s sent
	o := &outbox{send: s.send}
	for _, st := range []dalabapb.ReceiptState{received, fetched, playing} {
		o.report(&dalabapb.Receipt{BroadcastId: "b1", State: st})
	}
	if got := s.states(); len(got) != 1 || got[0] != playing {
		t.Fatalf("sent %v, want only playing", got)
	}
	r := s.got[0]
	if r.ReceivedUnixMs == 0 || r.FetchedUnixMs < r.ReceivedUnixMs {
		t.Fatalf("playing carries received %d fetched %d; want both, in order", r.ReceivedUnixMs, r.FetchedUnixMs)
	}
	time.Sleep(2 * coalesceWindow)
	if got := s.states(); len(got) != 1 {
		t.Fatalf("after the window: sent %v, want nothing more", got)
	}
}

func TestOutboxSendsSlowStepsOnTime(t *testing.T) {
	var s sent
	o := &outbox{send: s.send}
	o.report(&dalabapb.Receipt{BroadcastId: "b1", State: received})
	time.Sleep(3 * coalesceWindow) // a slow fetch: staff should see the terminal has it
	if got := s.states(); len(got) != 1 || got[0] != received {
		t.Fatalf("sent %v, want received after the window", got)
	}
	o.report(&dalabapb.Receipt{BroadcastId: "b1", State: fetched})
	o.report(&dalabapb.Receipt{BroadcastId: "b1", State: playing})
	o.report(&dalabapb.Receipt{BroadcastId: "b1", State: done})
	if got := s.states(); len(got) != 3 || got[1] != playing || got[2] != done {
		t.Fatalf("sent %v, want received, playing, done", got)
	}
}

func TestOutboxFlushesHeldReceiptOfAnEarlierBroadcast(t *testing.T) {
	var s sent
	o := &outbox{send: s.send}
	o.report(&dalabapb.Receipt{BroadcastId: "b1", State: received})
	o.report(&dalabapb.Receipt{BroadcastId: "b2", State: received})
	o.report(&dalabapb.Receipt{BroadcastId: "b2", State: playing})
	if len(s.got) != 2 || s.got[0].BroadcastId != "b1" || s.got[1].BroadcastId != "b2" || s.got[1].State != playing {
		t.Fatalf("sent %v", s.states())
	}
}
