package agent

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// SimulatedHealth is a HealthSource whose faults a caller raises and clears: the stand-in for
// a terminal's sensors in the fleet simulator and in tests. Give each agent its own.
type SimulatedHealth struct {
	mu      sync.Mutex
	active  map[dalabapb.FaultKind]string
	changed chan struct{}
}

// NewSimulatedHealth returns a source with no faults.
func NewSimulatedHealth() *SimulatedHealth {
	return &SimulatedHealth{active: map[dalabapb.FaultKind]string{}, changed: make(chan struct{}, 1)}
}

// Set raises (active) or clears a fault; the agent reports it at once.
func (h *SimulatedHealth) Set(kind dalabapb.FaultKind, active bool, detail string) error {
	if !wire.ValidFault(kind) {
		return fmt.Errorf("fault kind %v: not one this schema defines", kind)
	}
	h.mu.Lock()
	if active {
		h.active[kind] = detail
	} else {
		delete(h.active, kind)
	}
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default: // a wake-up is already pending
	}
	return nil
}

// Poll returns the faults raised and not cleared.
func (h *SimulatedHealth) Poll(context.Context) ([]Fault, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Fault, 0, len(h.active))
	for k, d := range h.active {
		out = append(out, Fault{Kind: k, Detail: d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out, nil
}

// Changed is signalled after every Set.
func (h *SimulatedHealth) Changed() <-chan struct{} { return h.changed }
