// Command fleet-sim simulates every terminal of an inventory in one process: real agents and
// MQTT sessions, with audio going to a null sink paced like a real speaker. For demos and load.
//
// Each simulated terminal has a simulated health source. With --control ADDR, fleet-sim serves
// a small HTTP endpoint to raise and clear its faults (see control.go):
//
//	curl -X POST http://ADDR/faults -d '{"terminal":"t001","kind":"supply_current_low","active":true}'
//	curl http://ADDR/faults
//
// The same endpoint tells, per broadcast, the real time each terminal's sink started it
// (GET /starts?broadcast=ID, see starts.go) and each terminal's simulated clock offset
// (GET /clock-offsets). With --clock-offsets D every terminal's clock is off by a random
// amount within ±D, and with --net-jitter J the audio connections (which carry the clock
// probes) hold each direction's bytes back by a random 0..J: together they show whether horns
// with bad clocks on a bad network still start together.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	_ "net/http/pprof" // served only with --pprof
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"dalaba/controller/inventory"
	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/live"
	"dalaba/terminal-agent/sink"
)

func main() {
	var sim simOptions
	site := flag.String("site", "", "inventory CSV whose terminals to simulate (required)")
	mqttAddr := flag.String("mqtt", "127.0.0.1:1883", "controller's MQTT broker address")
	brokerURL := flag.String("broker", "", "MQTT broker URL, e.g. tls://host:1883 (overrides --mqtt)")
	flag.StringVar(&sim.provisionDir, "provision", "", "directory of the terminals' provisioning files, <id>.json each (controller --provision-sim, or ebctl terminals provision --out) (required)")
	caFile := flag.String("ca", "", "the controller's CA certificate (default: the one in the provisioning files)")
	plaintext := flag.Bool("insecure-plaintext", false, "LAB ONLY: dial a controller started with --insecure-plaintext, without TLS")
	grpcAddr := flag.String("grpc", "127.0.0.1:7700", "controller's audio service address")
	heartbeat := flag.Duration("heartbeat", 30*time.Second, "each terminal's telemetry period")
	readyFile := flag.String("ready-file", "", "write this file once every terminal has started (for scripts and benchmarks)")
	controlAddr := flag.String("control", "", "listen address of the fault-injection endpoint, e.g. 127.0.0.1:0 (off when empty)")
	verbose := flag.Bool("v", false, "debug logging")
	pprofAddr := flag.String("pprof", "", "serve Go profiles on this address (off by default)")
	keyFile := flag.String("controller-key", "", "the controller's public key (PEM; its <data>/signing.pub): terminals act only on commands it signed (required)")
	flag.StringVar(&sim.stateDir, "state-dir", "", "directory for the terminals' state (one subdirectory each: the last command accepted); empty: memory only")
	flag.DurationVar(&sim.clockOffsets, "clock-offsets", 0, "give each terminal's clock a random offset within ±this (test affordance)")
	flag.DurationVar(&sim.netJitter, "net-jitter", 0, "hold each direction of the audio connections back by a random 0..this (test affordance)")
	flag.Uint64Var(&sim.seed, "seed", 1, "seed of the random clock offsets and jitter")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	if *brokerURL == "" {
		*brokerURL = "tls://" + *mqttAddr
		if *plaintext {
			*brokerURL = "tcp://" + *mqttAddr
		}
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if sim.clockOffsets < 0 || sim.netJitter < 0 {
		fmt.Fprintln(os.Stderr, "fleet-sim: --clock-offsets and --net-jitter want a duration of 0 or more")
		os.Exit(2)
	}
	if *keyFile == "" {
		fmt.Fprintln(os.Stderr, "fleet-sim: --controller-key is required: the controller's public key (its <data>/signing.pub), so that terminals act only on commands it signed")
		os.Exit(2)
	}
	var err error
	if sim.keys, err = agent.ReadControllerKeys(*keyFile); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-sim:", err)
		os.Exit(2)
	}
	if sim.provisionDir == "" {
		fmt.Fprintln(os.Stderr, "fleet-sim: --provision is required: the directory of the terminals' provisioning files (controller --provision-sim DIR)")
		os.Exit(2)
	}
	if sim.tls, err = simTLS(*caFile, sim.provisionDir, *plaintext); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-sim:", err)
		os.Exit(2)
	}
	if err := run(*site, *brokerURL, *grpcAddr, *heartbeat, *controlAddr, *readyFile, sim, log); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-sim:", err)
		os.Exit(1)
	}
}

// simOptions are the simulated faults of clocks and network, and what every terminal shares.
type simOptions struct {
	clockOffsets, netJitter time.Duration
	seed                    uint64
	keys                    []ed25519.PublicKey // the controller's
	stateDir                string              // each terminal keeps its state in stateDir/<id>
	provisionDir            string              // each terminal's token is in provisionDir/<id>.json
	tls                     *tls.Config         // trusts the controller's CA; nil: plain (lab)
}

func run(site, brokerURL, grpcAddr string, heartbeat time.Duration, controlAddr, readyFile string, sim simOptions, log *slog.Logger) error {
	if site == "" {
		return fmt.Errorf("--site is required")
	}
	inv, err := inventory.ReadFile(site)
	if err != nil {
		return err
	}
	// A few shared gRPC connections: real terminals each have their own, and one connection
	// for thousands would serialise every fetch through one HTTP/2 transport on both ends.
	conns := make([]*grpc.ClientConn, audioConns(inv.Len(), sim.netJitter > 0))
	dial := append([]grpc.DialOption{agent.Options{TLS: sim.tls}.TransportCredentials()}, live.DialOptions()...)
	if sim.netJitter > 0 {
		dial = append(dial, grpc.WithContextDialer(agent.JitterDialer(sim.netJitter, sim.seed)))
	}
	for i := range conns {
		conn, err := grpc.NewClient(grpcAddr, dial...)
		if err != nil {
			return fmt.Errorf("audio service %s: %w", grpcAddr, err)
		}
		defer conn.Close()
		conns[i] = conn
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	faults, starts := newFaultControl(), newStartLog()
	offsets := clockOffsets(inv.Terminals(), sim)
	if controlAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/faults", faults.handler())
		mux.Handle("/starts", starts.handler())
		mux.Handle("/clock-offsets", offsetsHandler(offsets))
		addr, err := serveControl(ctx, controlAddr, mux)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "fleet-sim: control on http://%s (/faults, /starts, /clock-offsets)\n", addr)
	}
	tokens, err := readTokens(sim.provisionDir, inv.Terminals())
	if err != nil {
		return err
	}
	burst, fill, every := clockProbes(inv.Len())
	var wg sync.WaitGroup
	for i, t := range inv.Terminals() {
		conn := conns[i%len(conns)]
		health := faults.add(t.ID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sink.NewNull()
			defer s.Close()
			err := agent.Run(ctx, agent.Options{TerminalID: t.ID, GroupCode: t.GroupCode, BrokerURL: brokerURL,
				Sink: starts.wrap(t.ID, s), AudioConn: conn, Logger: log, Heartbeat: heartbeat, Health: health,
				ClockOffset: offsets[t.ID], ClockBurst: burst, ClockFill: fill, ClockProbeEvery: every,
				ControllerKeys: sim.keys, StateDir: stateDir(sim.stateDir, t.ID), TLS: sim.tls, Token: tokens[t.ID]})
			if err != nil && ctx.Err() == nil {
				log.Error("agent stopped", "terminal", t.ID, "err", err)
			}
		}()
		if i%100 == 99 {
			time.Sleep(10 * time.Millisecond) // spread the connects: 10,000 terminals start in a second
		}
	}
	fmt.Fprintf(os.Stderr, "fleet-sim: %d terminals simulated, broker %s, audio %s\n", inv.Len(), brokerURL, grpcAddr)
	if sim.stateDir == "" {
		fmt.Fprintln(os.Stderr, "fleet-sim: no --state-dir: each terminal keeps the last command it accepted in memory only (a restart forgets it)")
	}
	if readyFile != "" {
		if err := os.WriteFile(readyFile, []byte("ready\n"), 0o644); err != nil {
			return err
		}
	}
	wg.Wait()
	return nil
}

// stateDir is a terminal's own state directory under dir, or "" (memory only) without one.
func stateDir(dir, id string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, id)
}

// clockOffsets draws each terminal's simulated clock offset, uniform within ±sim.clockOffsets.
func clockOffsets(terminals []inventory.Terminal, sim simOptions) map[string]time.Duration {
	out := make(map[string]time.Duration, len(terminals))
	rng := rand.New(rand.NewPCG(sim.seed, 0x0ff5e7))
	for _, t := range terminals {
		if sim.clockOffsets > 0 {
			out[t.ID] = time.Duration(rng.Int64N(2*int64(sim.clockOffsets)+1)) - sim.clockOffsets
		}
	}
	return out
}

// clockProbes is how often the simulated terminals probe the controller's clock: as a real
// terminal does (a burst of 20, every 250 ms until the estimate's window is full, then one a
// second) up to 1,000 terminals; beyond that fewer, so that 10,000 of them in one process cost
// the controller 1,000 probes a second, not 40,000.
func clockProbes(terminals int) (burst int, fill, every time.Duration) {
	if terminals <= 1000 {
		return 20, 0, time.Second
	}
	every = time.Duration(terminals/1000) * time.Second
	return 5, every, every
}

// audioConns is how many gRPC connections the simulated fleet shares: one per 100 terminals,
// at most 64; or, with simulated jitter, one per terminal, as real terminals have: jitter on a
// connection that 100 terminals share would delay each one's clock probes behind the others'
// traffic (order is kept), a queue no single terminal's link has.
func audioConns(terminals int, ownLinks bool) int {
	if ownLinks {
		return terminals
	}
	return min(64, 1+terminals/100)
}
