package dispatch

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"dalaba/controller/receipts"
	"dalaba/proto/wire"
)

var callerID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// alreadySent reports whether a broadcast with a caller-chosen id exists. If it is still open
// its command is published again (terminals play a broadcast id once, so this only reaches
// those that missed it): the caller may be retrying after a crash that came between recording
// and publishing.
func (d *Dispatcher) alreadySent(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	if !callerID.MatchString(id) {
		return false, inputErr("id", "广播编号格式错误", fmt.Errorf("broadcast id %q: want 8-64 letters, digits, '-' or '_'", id))
	}
	sum, err := d.Book.Get(ctx, id)
	if errors.Is(err, receipts.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if sum.State == receipts.StateActive {
		if err := d.republish(sum.Broadcast); err != nil {
			return true, fmt.Errorf("republish broadcast %s: %w", id, err)
		}
	}
	d.Log.Info("broadcast already sent", "broadcast", id, "state", sum.State)
	return true, nil
}

func (d *Dispatcher) republish(b receipts.Broadcast) error {
	addrs, err := wire.ParseAddresses(b.Targets)
	if err != nil {
		return err
	}
	res, err := d.resolve(addrs)
	if err != nil {
		return err
	}
	return d.publish(b, res.Topics)
}
