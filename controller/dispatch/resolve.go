package dispatch

import (
	"errors"
	"fmt"

	"dalaba/controller/inventory"
	"dalaba/proto/wire"
)

// resolve turns target addresses into terminals and the topics that reach each of them once.
func (d *Dispatcher) resolve(targets []wire.Address) (inventory.Resolution, error) {
	res, err := d.Inventory().Resolve(targets)
	var unknown *inventory.UnknownAddressError
	if errors.As(err, &unknown) {
		return res, inputErr("targets", fmt.Sprintf("目标地址不存在：%s", unknown.Address), err)
	}
	return res, err
}
