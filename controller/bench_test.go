package controller_test

// Benchmarks of the broadcast path. Run with `make bench`; each writes its figures, the machine
// and the command into docs/BENCHMARKS.md. Absolute times drift on shared machines, so every
// figure stands beside a baseline measured in the same run: the raw MQTT fan-out.

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/grpc"

	"dalaba/controller"
	"dalaba/controller/broker"
	"dalaba/controller/inventory"
	"dalaba/controller/receipts"
	"dalaba/proto/wire"
	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

func loadSite(tb testing.TB) *inventory.Inventory {
	inv, err := inventory.ReadFile(siteCSV)
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}

// rawFanout measures one QoS 1 message of 300 bytes, published in-process on the town topic of
// an embedded mochi broker, until each of n paho clients (4 tier subscriptions each, as agents
// have) has it. It is the floor under any broadcast.
func rawFanout(b *testing.B, rounds int) []time.Duration {
	inv := loadSite(b)
	bus, err := broker.StartEmbedded(broker.EmbeddedOptions{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	got := make(chan struct{}, inv.Len()*4)
	var clients []paho.Client
	for _, t := range inv.Terminals() {
		filters := map[string]byte{}
		for _, a := range t.Addresses() {
			filters[wire.CommandTopic(a)] = 1
		}
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + bus.Addr()).SetClientID("raw-" + t.ID))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("connect: %v", tok.Error())
		}
		if tok := c.SubscribeMultiple(filters, func(paho.Client, paho.Message) { got <- struct{}{} }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("subscribe: %v", tok.Error())
		}
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			c.Disconnect(0)
		}
	}()
	payload := make([]byte, 300)
	town := wire.CommandTopic(wire.Address{Tier: wire.TierTown, Code: inv.Terminals()[0].TownCode})
	var out []time.Duration
	for range rounds {
		start := time.Now()
		if err := bus.Publish(town, payload, 1, false); err != nil {
			b.Fatal(err)
		}
		for range inv.Len() {
			<-got
		}
		out = append(out, time.Since(start))
		time.Sleep(50 * time.Millisecond)
	}
	return out
}

// simFleet runs every terminal of the site as an in-process agent with a paced null sink, as
// fleet-sim does.
func simFleet(b *testing.B, c *controller.Controller) func() {
	inv := loadSite(b)
	conn, err := grpc.NewClient(c.GRPCAddr, grpcCreds(b, c))
	if err != nil {
		b.Fatal(err)
	}
	creds, tlsConfig := tokensForAll(b, c), agentTLS(b, c)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, t := range inv.Terminals() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sink.NewNull()
			defer s.Close()
			agent.Run(ctx, agent.Options{TerminalID: t.ID, GroupCode: t.GroupCode, BrokerURL: brokerURLOf(c),
				TLS: tlsConfig, Token: creds[t.ID].Token,
				Sink: s, AudioConn: conn, Logger: quiet, ControllerKeys: []ed25519.PublicKey{c.CommandKey}})
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.Presence.OnlineCount() < inv.Len() {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d simulated terminals online", c.Presence.OnlineCount(), inv.Len())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() { cancel(); wg.Wait(); conn.Close() }
}

// townRound is one whole-town broadcast, timed from before the POST.
type townRound struct {
	post, received, fetched, playing time.Duration
}

func BenchmarkTownBroadcast125(b *testing.B) {
	if b.N == 1 {
		return // the testing package's probe run; make bench asks for -benchtime 20x
	}
	raw := rawFanout(b, b.N)

	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := controller.Start(ctx, controller.Options{HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		GRPCAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), SiteCSV: siteCSV, AdminPassword: adminPassword,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); c.Wait() }()
	stopFleet := simFleet(b, c)
	defer stopFleet()

	town := "town:" + loadSite(b).Terminals()[0].TownCode
	wav := toneWAV(b, 880, 300*time.Millisecond) // 44.1 kHz stereo: every round converts it
	// Round -1 warms up what a running controller has warm anyway: the gRPC connection, sox's
	// first start, the program cache. It is not counted.
	var rounds []townRound
	b.ResetTimer()
	for i := -1; i < b.N; i++ {
		start := time.Now()
		code, body := post(b, c, map[string]string{"title": fmt.Sprintf("全镇测试 %d", i), "targets": town}, wav)
		if code != 201 {
			b.Fatalf("post: %d %v", code, body)
		}
		posted := time.Since(start)
		id := body["id"].(string)
		wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
		sum, err := c.Book.Await(wctx, id, func(_ string, n receipts.Counts) bool { return n[receipts.Playing]+n[receipts.Done] == 125 })
		if err != nil {
			b.Fatalf("round %d: %v (%v)", i, err, sum.Counts)
		}
		if _, err := c.Book.Await(wctx, id, func(st string, _ receipts.Counts) bool { return st == receipts.StateFinished }); err != nil {
			b.Fatalf("round %d finishing: %v", i, err)
		}
		wcancel()
		r := townRound{post: posted}
		for _, rc := range sum.Receipts {
			r.received = max(r.received, rc.ReceivedAt.Sub(start))
			r.fetched = max(r.fetched, rc.FetchedAt.Sub(start))
			r.playing = max(r.playing, rc.PlayingAt.Sub(start))
		}
		if i >= 0 {
			rounds = append(rounds, r)
		}
	}
	b.StopTimer()

	playing := pick(rounds, func(r townRound) time.Duration { return r.playing })
	b.ReportMetric(ms(pct(playing, 50)), "ms-p50-all-playing")
	b.ReportMetric(ms(pct(playing, 99)), "ms-p99-all-playing")
	b.ReportMetric(ms(pct(raw, 50)), "ms-p50-raw-fanout")
	writeBenchReport(b, "town-broadcast-125", townReport(rounds, raw))
}

func townReport(rounds []townRound, raw []time.Duration) string {
	col := func(g func(townRound) time.Duration) string {
		d := pick(rounds, g)
		return fmt.Sprintf("%s | %s | %s", f(pct(d, 50)), f(pct(d, 99)), f(pct(d, 100)))
	}
	playing := pick(rounds, func(r townRound) time.Duration { return r.playing })
	return fmt.Sprintf(`Whole-town broadcast (125 terminals of the Caoxi site), %d rounds: from before the POST of
a 0.3 s WAV (44.1 kHz stereo, converted on upload) to all 125 receipts `+"`playing`"+` at the
controller. Controller with embedded mochi, 125 in-process agents with paced null sinks; one
uncounted warm-up round first. Stage times are when the last of the 125 terminals reached that
stage, on the controller's clock (agents fold received and fetched into the playing receipt when
they follow within 300 ms; the controller places them by their distance from it).

| figure | p50 | p99 | max |
|---|---|---|---|
| raw MQTT fan-out, 1 QoS 1 message to 125 subscribers (baseline) | %s |
| POST answered (validate, resolve, convert, store, publish) | %s |
| all 125 `+"`received`"+` receipts in | %s |
| all 125 `+"`fetched`"+` (audio over gRPC) | %s |
| **all 125 `+"`playing`"+`** (target p99 < 300 ms) | %s |

Ratio of p50 all-playing to p50 raw fan-out: **%.1fx**.
`, len(rounds), fmt.Sprintf("%s | %s | %s", f(pct(raw, 50)), f(pct(raw, 99)), f(pct(raw, 100))),
		col(func(r townRound) time.Duration { return r.post }),
		col(func(r townRound) time.Duration { return r.received }),
		col(func(r townRound) time.Duration { return r.fetched }),
		col(func(r townRound) time.Duration { return r.playing }),
		float64(pct(playing, 50))/float64(pct(raw, 50)))
}

func pick(rs []townRound, f func(townRound) time.Duration) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// pct is the p-th percentile (nearest rank).
func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (p*len(s) + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func f(d time.Duration) string   { return fmt.Sprintf("%.1f ms", ms(d)) }
