package dispatch

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"dalaba/controller/receipts"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// publish sends one play command per topic with QoS 1; the broker fans it out to every
// terminal of that tier, including those whose persistent session is offline just now.
func (d *Dispatcher) publish(b receipts.Broadcast, topics []wire.Address) error {
	payload, err := proto.Marshal(&dalabapb.Command{Body: &dalabapb.Command_Play{Play: &dalabapb.PlayCommand{
		BroadcastId:      b.ID,
		ProgramId:        b.ProgramID,
		Title:            b.Title,
		SentAtUnixMs:     b.CreatedAt.UnixMilli(),
		ValidUntilUnixMs: b.ValidUntil.UnixMilli(),
		ProgramBytes:     b.ProgramBytes,
		Priority:         b.Priority,
	}}})
	if err != nil {
		return fmt.Errorf("encode play command: %w", err)
	}
	for _, a := range topics {
		if err := d.Bus.Publish(wire.CommandTopic(a), payload, 1, false); err != nil {
			return fmt.Errorf("publish broadcast %s to %s: %w", b.ID, a, err)
		}
	}
	return nil
}
