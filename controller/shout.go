package controller

import (
	"context"

	"dalaba/controller/dispatch"
	"dalaba/proto/priority"
	"dalaba/proto/wire"
)

// dispatchShout sends a live shout's play command: a broadcast whose id is the shout's, so
// that the terminals' receipts land under it, at the shouting level of the ladder.
func (c *Controller) dispatchShout(ctx context.Context, targets []wire.Address, title, liveID string) (string, error) {
	return c.Dispatcher.Broadcast(ctx, dispatch.Request{ID: liveID, LiveID: liveID, Title: title, Targets: targets, Priority: priority.Shout})
}
