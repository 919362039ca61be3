package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"dalaba/controller/broker"
	"dalaba/controller/health"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// Terminals report every command they refuse (unsigned, forged, replayed, stale ...): each
// report becomes a terminal event (kind command_rejected, GET /api/v1/events) and counts in
// dalaba_commands_rejected_total. A terminal limits its own reports; the controller stores at
// most rejectionBurst at once and one a second after that per terminal, so that reports
// forged by whoever can publish on an open broker cannot fill the store; it still counts them.
const (
	rejectionBurst  = 20
	maxRejectDetail = 300 // bytes of the terminal's words kept in the event
)

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
	var m dalabapb.CommandRejected
	if err := proto.Unmarshal(payload, &m); err != nil {
		return fmt.Errorf("malformed rejection report: %w", err)
	}
	reason := wire.RejectReasonName(m.GetReason())
	switch {
	case m.GetTerminalId() != from:
		return fmt.Errorf("rejection report of terminal %q on the topic of %q", m.GetTerminalId(), from)
	case !r.known(from):
		return fmt.Errorf("rejection report from unknown terminal %q", from)
	case reason == "":
		return fmt.Errorf("rejection report with unknown reason %d", m.GetReason())
	case m.GetAtUnixMs() < 0 || m.GetAtUnixMs() > maxUnixMs:
		return fmt.Errorf("rejection report time %d ms", m.GetAtUnixMs())
	}
	r.log.Warn("terminal refused a command", "terminal", from, "reason", reason, "topic", m.GetTopic(),
		"seq", m.GetSeq(), "detail", m.GetDetail(), "suppressed", m.GetSuppressed())
	r.count(reason, 1+int(m.GetSuppressed()))
	if !r.allow(from) {
		return nil // counted, not stored: see rejectionBurst
	}
	detail := reason + ": " + clip(m.GetTopic(), 120)
	if n := m.GetSeq(); n != 0 {
		detail += fmt.Sprintf(" seq %d", n)
	}
	if k := m.GetKeyId(); k != "" {
		detail += " key " + clip(k, 32)
	}
	if d := m.GetDetail(); d != "" {
		detail += ": " + clip(d, maxRejectDetail)
	}
	if n := m.GetSuppressed(); n > 0 {
		detail += fmt.Sprintf(" (and %d more refused since the last report)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.events.Record(ctx, health.Event{Terminal: from, Kind: health.KindCommandRejected, Active: true,
		Detail: detail, At: time.UnixMilli(m.GetAtUnixMs()), Received: time.Now()})
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

// clip shortens s to at most n bytes on a rune boundary, and makes it valid UTF-8 (it goes
// into the store and out as JSON).
func clip(s string, n int) string {
	s = string([]rune(s)) // invalid bytes become U+FFFD
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// maxUnixMs is 9999-12-31T23:59:59.999Z, the last instant JSON can carry.
const maxUnixMs = 253402300799999
