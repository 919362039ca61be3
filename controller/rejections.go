package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"dalaba/controller/broker"
	"dalaba/controller/health"
	"dalaba/proto/wire"
)

// Terminals report every command they refuse (unsigned, forged, replayed, stale ...): each
// report becomes a terminal event (kind command_rejected, GET /api/v1/events) and counts in
// dalaba_commands_rejected_total. A terminal limits its own reports; the controller stores at
// most rejectionBurst at once and one a second after that per terminal, so that reports
// forged by whoever can publish on an open broker cannot fill the store; it still counts them.
const rejectionBurst = 20

type rejections struct {
	log    *slog.Logger
	events *health.Events
	known  func(string) bool
	count  func(reason string, n int)

	mu      sync.Mutex
	limiter map[string]*rate.Limiter // per known terminal
}

func (in *ingest) subscribeRejections(bus broker.Bus, events *health.Events, known func(string) bool, count func(string, int)) error {
	r := &rejections{log: in.log, events: events, known: known, count: count, limiter: map[string]*rate.Limiter{}}
	return bus.Subscribe(wire.RejectedFilter, 1, func(topic string, payload []byte) {
		from := wire.TerminalFromTopic(topic)
		if err := r.take(from, payload); err != nil {
			in.reject("command_rejected", from, err)
			return
		}
		in.presence.Touch(from)
	})
}

// take checks and records one report from terminal from.
func (r *rejections) take(from string, payload []byte) error {
	rej, err := health.ParseRejection(from, payload, r.known, time.Now())
	if err != nil {
		return err
	}
	r.log.Warn("terminal refused a command", "terminal", from, "reason", rej.Reason, "detail", rej.Event.Detail)
	r.count(rej.Reason, rej.Count)
	if !r.allow(from) {
		return nil // counted, not stored: see rejectionBurst
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.events.Record(ctx, rej.Event)
}

func (r *rejections) allow(terminal string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.limiter[terminal]
	if l == nil {
		l = rate.NewLimiter(rate.Every(time.Second), rejectionBurst)
		r.limiter[terminal] = l
	}
	return l.Allow()
}
