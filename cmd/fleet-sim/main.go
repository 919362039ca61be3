// Command fleet-sim simulates every terminal of an inventory in one process: real agents and
// MQTT sessions, with audio going to a null sink paced like a real speaker. For demos and load.
//
// Each simulated terminal has a simulated health source. With --control ADDR, fleet-sim serves
// a small HTTP endpoint to raise and clear its faults (see control.go):
//
//	curl -X POST http://ADDR/faults -d '{"terminal":"t001","kind":"supply_current_low","active":true}'
//	curl http://ADDR/faults
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with --pprof
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"dalaba/controller/inventory"
	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

func main() {
	site := flag.String("site", "", "inventory CSV whose terminals to simulate (required)")
	mqttAddr := flag.String("mqtt", "127.0.0.1:1883", "controller's MQTT broker address")
	brokerURL := flag.String("broker", "", "MQTT broker URL (overrides --mqtt)")
	grpcAddr := flag.String("grpc", "127.0.0.1:7700", "controller's audio service address")
	heartbeat := flag.Duration("heartbeat", 30*time.Second, "each terminal's telemetry period")
	readyFile := flag.String("ready-file", "", "write this file once every terminal has started (for scripts and benchmarks)")
	controlAddr := flag.String("control", "", "listen address of the fault-injection endpoint, e.g. 127.0.0.1:0 (off when empty)")
	verbose := flag.Bool("v", false, "debug logging")
	pprofAddr := flag.String("pprof", "", "serve Go profiles on this address (off by default)")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	if *brokerURL == "" {
		*brokerURL = "tcp://" + *mqttAddr
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(*site, *brokerURL, *grpcAddr, *heartbeat, *controlAddr, *readyFile, log); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-sim:", err)
		os.Exit(1)
	}
}

func run(site, brokerURL, grpcAddr string, heartbeat time.Duration, controlAddr, readyFile string, log *slog.Logger) error {
	if site == "" {
		return fmt.Errorf("--site is required")
	}
	inv, err := inventory.ReadFile(site)
	if err != nil {
		return err
	}
	// A few shared gRPC connections: real terminals each have their own, and one connection
	// for thousands would serialise every fetch through one HTTP/2 transport on both ends.
	conns := make([]*grpc.ClientConn, audioConns(inv.Len()))
	for i := range conns {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("audio service %s: %w", grpcAddr, err)
		}
		defer conn.Close()
		conns[i] = conn
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	faults := newFaultControl()
	if controlAddr != "" {
		addr, err := faults.serve(ctx, controlAddr)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "fleet-sim: fault control on http://%s/faults\n", addr)
	}
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
				Sink: s, AudioConn: conn, Logger: log, Heartbeat: heartbeat, Health: health})
			if err != nil && ctx.Err() == nil {
				log.Error("agent stopped", "terminal", t.ID, "err", err)
			}
		}()
		if i%100 == 99 {
			time.Sleep(10 * time.Millisecond) // spread the connects: 10,000 terminals start in a second
		}
	}
	fmt.Fprintf(os.Stderr, "fleet-sim: %d terminals simulated, broker %s, audio %s\n", inv.Len(), brokerURL, grpcAddr)
	if readyFile != "" {
		if err := os.WriteFile(readyFile, []byte("ready\n"), 0o644); err != nil {
			return err
		}
	}
	wg.Wait()
	return nil
}

// audioConns is how many gRPC connections the simulated fleet shares: one per 100 terminals,
// at most 64.
func audioConns(terminals int) int { return min(64, 1+terminals/100) }
