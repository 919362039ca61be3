package agent

import (
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
)

// The final receipt of each broadcast this terminal finished is kept as long as its id is
// (player.seen), and sent again when a command for it comes again. A controller killed after
// the terminal reported, but before it stored the report, redelivers the broadcast when the
// terminal reconnects to it: the terminal must not play it twice, and the outcome must not be
// lost either.

func finalState(s dalabapb.ReceiptState) bool {
	switch s {
	case dalabapb.ReceiptState_RECEIPT_STATE_DONE, dalabapb.ReceiptState_RECEIPT_STATE_FAILED,
		dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED:
		return true
	}
	return false
}

// keepFinals wraps the player's report so final receipts are remembered. Run's goroutine only.
func (p *player) keepFinals(report func(*dalabapb.Receipt)) func(*dalabapb.Receipt) {
	return func(r *dalabapb.Receipt) {
		if finalState(r.State) {
			p.finals[r.BroadcastId] = proto.Clone(r).(*dalabapb.Receipt)
		}
		report(r)
	}
}

// reportAgain answers a repeated command for a finished broadcast with its final receipt.
func (p *player) reportAgain(id string) bool {
	r, ok := p.finals[id]
	if !ok {
		return false
	}
	p.log.Info("duplicate command ignored: the broadcast has finished, its final receipt sent again", "broadcast", id, "state", r.State)
	p.report(proto.Clone(r).(*dalabapb.Receipt))
	return true
}
