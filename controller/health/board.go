// Package health keeps what terminals report about themselves besides broadcasts: the latest
// heartbeat (work state, volume, uptime), the faults active now, and the stored record of
// fault, recovery and offline events.
package health

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// Status is a terminal's health as last reported.
type Status struct {
	Reported  bool   // a heartbeat has arrived since the controller started
	WorkState string // idle, playing or fault (wire.WorkStateName)
	Volume    int32
	Uptime    time.Duration
	Version   string
	Heartbeat time.Duration // the period the terminal promised
	At        time.Time     // when the last heartbeat arrived
	Faults    []ActiveFault
}

// ActiveFault is a fault present now.
type ActiveFault struct {
	Kind   string    `json:"kind"` // wire.FaultName
	Name   string    `json:"name"` // for staff
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// Board holds every terminal's health in memory; fault events are also stored.
type Board struct {
	known   func(id string) bool
	events  *Events
	log     *slog.Logger
	onFault func(kind string, active bool)

	mu    sync.Mutex
	terms map[string]*terminal
}

type terminal struct {
	last      *dalabapb.Telemetry
	at        time.Time
	faults    map[dalabapb.FaultKind]ActiveFault
	lastEvent int64 // terminal clock of the newest fault event, ms
}

func NewBoard(known func(string) bool, events *Events, log *slog.Logger) *Board {
	return &Board{known: known, events: events, log: log, terms: map[string]*terminal{}}
}

func (b *Board) termLocked(id string) *terminal {
	t := b.terms[id]
	if t == nil {
		t = &terminal{faults: map[dalabapb.FaultKind]ActiveFault{}}
		b.terms[id] = t
	}
	return t
}

// Get returns a terminal's health. The work state follows fault events that arrived after the
// last heartbeat: fault while idle with a fault, idle again once none is left.
func (b *Board) Get(id string) Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.terms[id]
	if t == nil {
		return Status{Faults: []ActiveFault{}}
	}
	kinds := make([]dalabapb.FaultKind, 0, len(t.faults))
	for k := range t.faults {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] }) // the schema's order
	s := Status{Faults: make([]ActiveFault, 0, len(kinds))}
	for _, k := range kinds {
		s.Faults = append(s.Faults, t.faults[k])
	}
	if t.last == nil {
		return s
	}
	s.Reported, s.At, s.Volume, s.Version = true, t.at, t.last.Volume, t.last.AgentVersion
	s.Uptime = time.Duration(t.last.UptimeS) * time.Second
	s.Heartbeat = time.Duration(t.last.HeartbeatMs) * time.Millisecond
	s.WorkState = wire.WorkStateName(t.last.WorkState)
	switch {
	case s.WorkState == "idle" && len(s.Faults) > 0:
		s.WorkState = "fault"
	case s.WorkState == "fault" && len(s.Faults) == 0:
		s.WorkState = "idle"
	}
	return s
}

// maxUnixMs is 9999-12-31T23:59:59.999Z, the last instant JSON can carry.
const maxUnixMs = 253402300799999

// Fault takes a fault event published on the event topic of terminal from, and stores it.
func (b *Board) Fault(ctx context.Context, from string, e *dalabapb.FaultEvent) error {
	// The time is shown over the API, and JSON carries years up to 9999 only.
	if e.GetTerminalId() != from || !wire.ValidFault(e.GetKind()) || e.GetAtUnixMs() <= 0 || e.GetAtUnixMs() > maxUnixMs {
		return fmt.Errorf("malformed fault event: terminal %q on the topic of %q, kind %v, at %d",
			e.GetTerminalId(), from, e.GetKind(), e.GetAtUnixMs())
	}
	if !b.known(from) {
		return fmt.Errorf("fault event from unknown terminal %q", from)
	}
	now, at := time.Now(), time.UnixMilli(e.GetAtUnixMs())
	kind := wire.FaultName(e.GetKind())
	b.mu.Lock()
	t := b.termLocked(from)
	if e.GetActive() {
		t.faults[e.GetKind()] = ActiveFault{Kind: kind, Name: FaultChinese(kind), Detail: e.GetDetail(), Since: at}
	} else {
		delete(t.faults, e.GetKind())
	}
	t.lastEvent = max(t.lastEvent, e.GetAtUnixMs())
	b.mu.Unlock()
	if b.onFault != nil {
		b.onFault(kind, e.GetActive())
	}
	b.log.Warn("terminal fault", "terminal", from, "kind", kind, "active", e.GetActive(), "detail", e.GetDetail())
	return b.events.Record(ctx, Event{Terminal: from, Kind: kind, Active: e.GetActive(), Detail: e.GetDetail(), At: at, Received: now})
}

// OnFault sets what to tell of every fault event taken (a metrics counter); set it before
// messages flow.
func (b *Board) OnFault(f func(kind string, active bool)) { b.onFault = f }

// ActiveFaults counts active faults by kind over every terminal, for metrics.
func (b *Board) ActiveFaults() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for _, t := range b.terms {
		for _, f := range t.faults {
			out[f.Kind]++
		}
	}
	return out
}
