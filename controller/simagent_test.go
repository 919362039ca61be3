package controller_test

// Helpers for the health and remote-control tests: in-process agents with a null sink and a
// simulated health source, and agent processes (real ALSA into a file) with extra flags.

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"dalaba/controller"
	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

// simAgent is an in-process agent: real MQTT session and audio fetch, a null sink that
// records what it played, and a health source the test raises faults on.
type simAgent struct {
	id     string
	health *agent.SimulatedHealth
	sink   *recordingSink
	log    *syncBuffer
	stop   func()
}

func startSimAgent(t testing.TB, c *controller.Controller, id, group string, heartbeat time.Duration) *simAgent {
	t.Helper()
	a := &simAgent{id: id, health: agent.NewSimulatedHealth(), sink: &recordingSink{Sink: sink.NewNull()}, log: new(syncBuffer)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Options{TerminalID: id, GroupCode: group, BrokerURL: brokerURLOf(c),
			TLS: agentTLS(t, c), Token: bundleFor(t, c, id).Token,
			GRPCAddr: c.GRPCAddr, Sink: a.sink, Heartbeat: heartbeat, Health: a.health, HealthPoll: time.Second,
			ControllerKeys: []ed25519.PublicKey{c.CommandKey},
			Logger:         slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}()
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent %s: %v", id, err)
			}
			a.sink.Close()
		})
	}
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			t.Logf("agent %s log:\n%s", id, tail([]byte(a.log.String()), 30))
		}
	})
	eventually(t, 10*time.Second, func() error {
		if !c.Presence.Get(id).Online {
			return fmt.Errorf("%s not online", id)
		}
		return nil
	})
	return a
}

// recordingSink keeps what each Play put out.
type recordingSink struct {
	sink.Sink
	mu     sync.Mutex
	played []sink.Played
}

func (r *recordingSink) Play(ctx context.Context, pcm []byte) (sink.Played, error) {
	p, err := r.Sink.Play(ctx, pcm)
	r.mu.Lock()
	r.played = append(r.played, p)
	r.mu.Unlock()
	return p, err
}

func (r *recordingSink) plays() []sink.Played {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sink.Played(nil), r.played...)
}

// apiTerminal is the part of GET /api/v1/terminals these tests read.
type apiTerminal struct {
	ID          string `json:"id"`
	Online      bool   `json:"online"`
	WorkState   string `json:"work_state"`
	Volume      *int32 `json:"volume"`
	UptimeS     *int64 `json:"uptime_s"`
	HeartbeatMs *int64 `json:"heartbeat_ms"`
	Faults      []struct {
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Detail string `json:"detail"`
	} `json:"faults"`
}

func terminalFromAPI(t testing.TB, c *controller.Controller, id string) apiTerminal {
	t.Helper()
	var ts []apiTerminal
	getJSON(t, "http://"+c.HTTPAddr+"/api/v1/terminals", &ts)
	for _, x := range ts {
		if x.ID == id {
			return x
		}
	}
	t.Fatalf("terminal %s not in GET /api/v1/terminals", id)
	return apiTerminal{}
}

// apiEvent is one entry of GET /api/v1/events.
type apiEvent struct {
	Terminal string `json:"terminal"`
	Kind     string `json:"kind"`
	Active   bool   `json:"active"`
	Detail   string `json:"detail"`
	What     string `json:"what"`
}

func eventsFromAPI(t testing.TB, c *controller.Controller, terminal string) []apiEvent {
	t.Helper()
	var evs []apiEvent
	getJSON(t, "http://"+c.HTTPAddr+"/api/v1/events?terminal="+terminal, &evs)
	return evs
}

func getJSON(t testing.TB, url string, into any) {
	t.Helper()
	resp, err := adminGet(t, url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

// postJSON posts body (nil: none) and returns the status and the decoded answer.
func postJSON(t testing.TB, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := adminPost(t, url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return decodeBody(t, resp)
}

// metric returns the value of one Prometheus sample line from /metrics, 0 if absent.
func metric(t testing.TB, c *controller.Controller, sample string) float64 {
	t.Helper()
	for _, line := range strings.Split(scrape(t, c.HTTPAddr), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}
