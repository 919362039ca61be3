// Command terminal-agent runs on one loudspeaker terminal and plays through its sound card.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

func main() {
	var o agent.Options
	flag.StringVar(&o.TerminalID, "id", "", "this terminal's id, as in the inventory (required)")
	flag.StringVar(&o.GroupCode, "group", "", "this terminal's 15-digit group code, as in the inventory (required)")
	mqttAddr := flag.String("mqtt", "127.0.0.1:1883", "controller's MQTT broker address")
	flag.StringVar(&o.BrokerURL, "broker", "", "MQTT broker URL, e.g. tcp://host:1883 (overrides --mqtt)")
	flag.StringVar(&o.GRPCAddr, "grpc", "127.0.0.1:7700", "controller's audio service address")
	flag.DurationVar(&o.Heartbeat, "heartbeat", 30*time.Second, "telemetry period; the controller marks the terminal offline after two silent periods")
	keyFile := flag.String("controller-key", "", "the controller's public key (PEM; its <data>/signing.pub): only commands it signed are acted on (required)")
	flag.StringVar(&o.StateDir, "state-dir", "", "directory for what must survive a restart (the last command accepted, so it cannot be replayed); empty: memory only")
	flag.DurationVar(&o.ClockOffset, "clock-offset", 0, "test affordance: act as if this terminal's clock were this far off (e.g. -1.5s), to show that terminals with bad clocks still start together")
	verbose := flag.Bool("v", false, "debug logging")
	flag.Parse()
	if o.BrokerURL == "" {
		o.BrokerURL = "tcp://" + *mqttAddr
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// A terminal that cannot make sound must say so at start, not report broadcasts it never played.
	out, err := sink.OpenOto()
	if err != nil {
		fmt.Fprintln(os.Stderr, "terminal-agent:", err)
		os.Exit(2)
	}
	defer out.Close()
	o.Sink = out

	// Nor may it start without a way to tell the controller's commands from anyone else's.
	if *keyFile == "" {
		fmt.Fprintln(os.Stderr, "terminal-agent: --controller-key is required: the controller's public key (its <data>/signing.pub), so that only commands it signed are acted on")
		os.Exit(2)
	}
	if o.ControllerKeys, err = agent.ReadControllerKeys(*keyFile); err != nil {
		fmt.Fprintln(os.Stderr, "terminal-agent:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "terminal-agent:", err)
		os.Exit(1)
	}
}
