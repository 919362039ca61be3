package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"dalaba/controller/inventory"
	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

// The start log keeps each terminal's first real start of a broadcast, and serves them.
func TestStartLogRecordsFirstStarts(t *testing.T) {
	l := newStartLog()
	s := l.wrap("t001", sink.NewNull())
	defer s.Close()
	ctx := agent.WithBroadcastID(context.Background(), "b1")
	before := time.Now()
	p, err := s.Play(ctx, make([]byte, 320)) // 10 ms
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Play(ctx, make([]byte, 320)); err != nil { // a repeat: not a new start
		t.Fatal(err)
	}
	if _, err := s.Play(context.Background(), make([]byte, 320)); err != nil { // a self-test tone
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/starts?broadcast=b1")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Broadcast string           `json:"broadcast"`
		Starts    map[string]int64 `json:"starts_unix_ns"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Broadcast != "b1" || len(got.Starts) != 1 || got.Starts["t001"] != p.Start.UnixNano() || p.Start.Before(before) {
		t.Fatalf("GET /starts: %+v, want t001 at its first start %d", got, p.Start.UnixNano())
	}
	if resp, _ := http.Get(srv.URL + "/starts"); resp.StatusCode != 400 {
		t.Fatalf("without a broadcast: %d, want 400", resp.StatusCode)
	}

	// After the agent's lead-in silence, the program starts that much later; the agent gets the
	// sink's own account back (it takes the lead-in off itself).
	lead := 3 * time.Millisecond
	p2, err := s.Play(agent.WithLeadIn(agent.WithBroadcastID(context.Background(), "b2"), lead), make([]byte, 320))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(srv.URL + "/starts?broadcast=b2")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Starts["t001"] != p2.Start.Add(lead).UnixNano() {
		t.Fatalf("b2 recorded at %d, want the sink's start %d plus the %v lead-in", got.Starts["t001"], p2.Start.UnixNano(), lead)
	}
}

func TestClockOffsetsWithinBoundAndSeeded(t *testing.T) {
	var ts []inventory.Terminal
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		ts = append(ts, inventory.Terminal{ID: id})
	}
	sim := simOptions{clockOffsets: 2 * time.Second, seed: 7}
	a, b := clockOffsets(ts, sim), clockOffsets(ts, sim)
	distinct := map[time.Duration]bool{}
	for _, tm := range ts {
		o := a[tm.ID]
		if o < -2*time.Second || o > 2*time.Second || o != b[tm.ID] {
			t.Fatalf("%s: offset %v (again %v), want the same within ±2 s", tm.ID, o, b[tm.ID])
		}
		distinct[o] = true
	}
	if len(distinct) < len(ts) {
		t.Fatalf("offsets not spread: %v", a)
	}
	if z := clockOffsets(ts, simOptions{seed: 7}); z["a"] != 0 {
		t.Fatalf("offset %v without --clock-offsets", z["a"])
	}
}
