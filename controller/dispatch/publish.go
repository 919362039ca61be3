package dispatch

import (
	"context"
	"fmt"
	"time"

	"dalaba/controller/receipts"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// publish sends one play command per topic with QoS 1; the broker fans it out to every
// terminal of that tier, including those whose persistent session is offline just now. Each
// copy is signed for its own topic (controller/commands).
func (d *Dispatcher) publish(b receipts.Broadcast, topics []wire.Address) error {
	cmd := &dalabapb.Command{Body: &dalabapb.Command_Play{Play: &dalabapb.PlayCommand{
		BroadcastId:      b.ID,
		ProgramId:        b.ProgramID,
		Title:            b.Title,
		SentAtUnixMs:     b.CreatedAt.UnixMilli(),
		ValidUntilUnixMs: b.ValidUntil.UnixMilli(),
		ProgramBytes:     b.ProgramBytes,
		Priority:         b.Priority,
		Severity:         b.Severity,
		Repeat:           b.Repeat,
		RepeatIntervalMs: b.RepeatInterval.Milliseconds(),
		EndUnixMs:        unixMs(b.EndAt),
		ForcedVolume:     b.ForcedVolume,
		PlayAtUnixUs:     playAt(b),
		LiveId:           b.LiveID,
	}}}
	for _, a := range topics {
		if err := d.Commands.Send(a, cmd, 1); err != nil {
			return fmt.Errorf("publish broadcast %s to %s: %w", b.ID, a, err)
		}
	}
	return nil
}

// playAt is the synchronised start, except for live shouts (their frames carry play times) and
// redeliveries after it has passed (the terminal starts at once, alone).
func playAt(b receipts.Broadcast) int64 {
	if b.LiveID != "" || b.PlayAt.IsZero() {
		return 0
	}
	return b.PlayAt.UnixMicro()
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Cancel stops a broadcast everywhere at once: recorded first, then a stop command to the
// topics it was sent to (every terminal subscribes to all of its tiers, so this also reaches
// one it was redelivered to).
func (d *Dispatcher) Cancel(ctx context.Context, id, reason string) (receipts.Broadcast, error) {
	b, err := d.Book.Cancel(ctx, id, reason, time.Now())
	if err != nil {
		return b, err
	}
	cmd := &dalabapb.Command{Body: &dalabapb.Command_Stop{Stop: &dalabapb.StopCommand{BroadcastId: id, Reason: reason}}}
	// The addresses as sent, not resolved again: a target that has since left the inventory
	// must still be told to stop. A terminal under two of them stops once (stop is idempotent).
	addrs, err := wire.ParseAddresses(b.Targets)
	if err != nil {
		return b, err
	}
	for _, a := range addrs {
		if err := d.Commands.Send(a, cmd, 1); err != nil {
			return b, fmt.Errorf("publish stop of %s to %s: %w", id, a, err)
		}
	}
	d.Log.Info("broadcast cancelled", "broadcast", id, "reason", reason, "topics", len(addrs))
	return b, nil
}
