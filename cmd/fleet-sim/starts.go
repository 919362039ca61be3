package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"

	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

// startLog records, per broadcast, the real wall-clock time (not the simulated terminal's
// skewed clock) at which each terminal's sink started it: what start skew between horns means.
//
//	GET /starts?broadcast=ID -> {"broadcast": ID, "starts_unix_ns": {"t001": 1767...}}
//
// Only a broadcast's first start on each terminal counts (not repeats or resumptions). The start
// is of the program's first sample: the agent's lead-in silence (agent.LeadIn) is skipped.
type startLog struct {
	mu     sync.Mutex
	starts map[string]map[string]time.Time // broadcast -> terminal -> first start
	order  []string                        // broadcasts, oldest first, to forget the oldest
}

// keptBroadcasts bounds the memory of a long-running simulator.
const keptBroadcasts = 1000

func newStartLog() *startLog { return &startLog{starts: map[string]map[string]time.Time{}} }

func (l *startLog) record(broadcast, terminal string, at time.Time) {
	if broadcast == "" || at.IsZero() {
		return // a self-test tone, or nothing reached the sink
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.starts[broadcast]
	if m == nil {
		m = map[string]time.Time{}
		l.starts[broadcast] = m
		l.order = append(l.order, broadcast)
		if len(l.order) > keptBroadcasts {
			delete(l.starts, l.order[0])
			l.order = l.order[1:]
		}
	}
	if _, ok := m[terminal]; !ok {
		m[terminal] = at
	}
}

func (l *startLog) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("broadcast")
		if r.Method != http.MethodGet || id == "" {
			http.Error(w, "want GET /starts?broadcast=ID", http.StatusBadRequest)
			return
		}
		out := map[string]int64{}
		l.mu.Lock()
		for t, at := range l.starts[id] {
			out[t] = at.UnixNano()
		}
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Broadcast string           `json:"broadcast"`
			Starts    map[string]int64 `json:"starts_unix_ns"`
		}{id, out})
	})
}

// wrap returns s with every Play and live stream's start recorded for terminal.
func (l *startLog) wrap(terminal string, s sink.Sink) sink.Sink {
	return &recordedSink{Sink: s, log: l, terminal: terminal}
}

type recordedSink struct {
	sink.Sink
	log      *startLog
	terminal string
}

func (r *recordedSink) Play(ctx context.Context, pcm []byte) (sink.Played, error) {
	p, err := r.Sink.Play(ctx, pcm)
	if !p.Start.IsZero() {
		// The program's first sample, after the agent's lead-in silence. The agent gets the
		// sink's own account back: it takes the lead-in off itself.
		r.log.record(agent.BroadcastID(ctx), r.terminal, p.Start.Add(agent.LeadIn(ctx)))
	}
	return p, err
}

func (r *recordedSink) Stream(ctx context.Context) (sink.Stream, error) {
	st, err := r.Sink.Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &recordedStream{Stream: st, r: r, broadcast: agent.BroadcastID(ctx)}, nil
}

type recordedStream struct {
	sink.Stream
	r         *recordedSink
	broadcast string
}

func (s *recordedStream) Close(ctx context.Context) (sink.Played, error) {
	p, err := s.Stream.Close(ctx)
	s.r.log.record(s.broadcast, s.r.terminal, p.Start)
	return p, err
}

// offsetsHandler serves each simulated terminal's clock offset:
//
//	GET /clock-offsets -> {"t001": -1234567890, ...} (nanoseconds, terminal minus real time)
func offsetsHandler(offsets map[string]time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := make([]string, 0, len(offsets))
		for id := range offsets {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		out := make(map[string]int64, len(ids))
		for _, id := range ids {
			out[id] = int64(offsets[id])
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}
