package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"dalaba/proto/wire"
	agent "dalaba/terminal-agent"
)

// faultControl holds every simulated terminal's health source and serves the endpoint that
// raises and clears their faults, for tests and demos:
//
//	POST /faults {"terminal": "t001", "kind": "supply_current_low", "active": true, "detail": "0.1 A"}
//	GET  /faults  -> {"t001": [{"kind": "supply_current_low", "detail": "0.1 A"}]}
//
// Kinds: supply_current_low, amplifier_voltage_low, signal_weak, monitoring_unavailable.
type faultControl struct {
	mu     sync.Mutex
	health map[string]*agent.SimulatedHealth
}

func newFaultControl() *faultControl {
	return &faultControl{health: map[string]*agent.SimulatedHealth{}}
}

// add makes the health source of one terminal.
func (fc *faultControl) add(id string) *agent.SimulatedHealth {
	h := agent.NewSimulatedHealth()
	fc.mu.Lock()
	fc.health[id] = h
	fc.mu.Unlock()
	return h
}

func (fc *faultControl) get(id string) *agent.SimulatedHealth {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.health[id]
}

type faultJSON struct {
	Terminal string `json:"terminal,omitempty"`
	Kind     string `json:"kind"`
	Active   bool   `json:"active"`
	Detail   string `json:"detail,omitempty"`
}

func (fc *faultControl) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f faultJSON
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "want JSON {terminal, kind, active, detail}: "+err.Error(), http.StatusBadRequest)
			return
		}
		kind, ok := wire.ParseFault(f.Kind)
		if !ok {
			http.Error(w, fmt.Sprintf("unknown fault kind %q", f.Kind), http.StatusBadRequest)
			return
		}
		h := fc.get(f.Terminal)
		if h == nil {
			http.Error(w, fmt.Sprintf("no simulated terminal %q", f.Terminal), http.StatusNotFound)
			return
		}
		if err := h.Set(kind, f.Active, f.Detail); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		out := map[string][]faultJSON{}
		fc.mu.Lock()
		ids := make([]string, 0, len(fc.health))
		for id := range fc.health {
			ids = append(ids, id)
		}
		fc.mu.Unlock()
		sort.Strings(ids)
		for _, id := range ids {
			active, _ := fc.get(id).Poll(r.Context()) // the simulated source never fails
			for _, f := range active {
				out[id] = append(out[id], faultJSON{Kind: wire.FaultName(f.Kind), Active: true, Detail: f.Detail})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	return mux
}

// serveControl serves h on addr until ctx ends and returns the address it got (port 0 picks one).
func serveControl(ctx context.Context, addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("control endpoint: listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "fleet-sim: control endpoint:", err)
		}
	}()
	go func() { <-ctx.Done(); hs.Close() }()
	return ln.Addr().String(), nil
}
