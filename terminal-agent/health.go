package agent

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// Fault is one hardware fault present on the terminal.
type Fault struct {
	Kind   dalabapb.FaultKind
	Detail string
}

// HealthSource reads the terminal's hardware: supply current, amplifier output, signal. A real
// terminal's board-specific reader plugs in here. This repository has none for real hardware:
// cmd/terminal-agent runs without one and reports no faults, which means "not monitored", not
// "healthy". SimulatedHealth is the one the fleet simulator and the tests drive.
type HealthSource interface {
	// Poll returns the faults present now. An error means the hardware could not be read;
	// the agent then reports monitoring unavailable. It must return when ctx ends (the agent
	// allows pollTimeout): the heartbeat waits for it.
	Poll(ctx context.Context) ([]Fault, error)
}

// healthNotifier is a HealthSource that can say when to poll again instead of waiting for
// the next period (SimulatedHealth does, so an injected fault is reported at once).
type healthNotifier interface {
	Changed() <-chan struct{}
}

// faults keeps the set of active faults by polling the health source, and publishes a
// FaultEvent for every fault raised or cleared.
type faults struct {
	src     HealthSource
	every   time.Duration
	publish func(*dalabapb.FaultEvent)
	log     *slog.Logger

	mu     sync.Mutex
	active map[dalabapb.FaultKind]string // kind -> detail
}

func newFaults(opts Options, publish func(*dalabapb.FaultEvent)) *faults {
	return &faults{src: opts.Health, every: opts.HealthPoll, publish: publish, log: opts.Logger,
		active: map[dalabapb.FaultKind]string{}}
}

// wake is signalled when the source knows its faults changed; nil if it cannot tell.
func (f *faults) wake() <-chan struct{} {
	if n, ok := f.src.(healthNotifier); ok {
		return n.Changed()
	}
	return nil
}

// pollTimeout bounds one read of the hardware: the heartbeat shares its goroutine (manage.go).
const pollTimeout = 2 * time.Second

func (f *faults) poll(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, pollTimeout)
	found, err := f.src.Poll(pctx)
	cancel()
	if ctx.Err() != nil {
		return // stopping: an interrupted read is not a fault
	}
	next := map[dalabapb.FaultKind]string{}
	if err != nil {
		next[dalabapb.FaultKind_FAULT_KIND_MONITORING_UNAVAILABLE] = err.Error()
	}
	for _, x := range found {
		if wire.ValidFault(x.Kind) {
			next[x.Kind] = x.Detail
		}
	}
	f.mu.Lock()
	var changes []*dalabapb.FaultEvent
	for k, d := range next {
		if _, was := f.active[k]; !was {
			changes = append(changes, &dalabapb.FaultEvent{Kind: k, Active: true, Detail: d})
		}
	}
	for k, d := range f.active {
		if _, still := next[k]; !still {
			changes = append(changes, &dalabapb.FaultEvent{Kind: k, Active: false, Detail: d})
		}
	}
	f.active = next
	f.mu.Unlock()
	sort.Slice(changes, func(i, j int) bool { return changes[i].Kind < changes[j].Kind })
	for _, e := range changes {
		f.log.Warn("fault", "kind", wire.FaultName(e.Kind), "active", e.Active, "detail", e.Detail)
		f.publish(e)
	}
}

// list is the active faults, in kind order.
func (f *faults) list() []dalabapb.FaultKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]dalabapb.FaultKind, 0, len(f.active))
	for k := range f.active {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
