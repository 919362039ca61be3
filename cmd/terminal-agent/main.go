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

	"dalaba/proto/provision"
	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

func main() {
	var o agent.Options
	flag.StringVar(&o.TerminalID, "id", "", "this terminal's id, as in the inventory (required)")
	flag.StringVar(&o.GroupCode, "group", "", "this terminal's 15-digit group code, as in the inventory (required)")
	mqttAddr := flag.String("mqtt", "127.0.0.1:1883", "controller's MQTT broker address (TLS)")
	flag.StringVar(&o.BrokerURL, "broker", "", "MQTT broker URL, e.g. tls://host:1883 (overrides --mqtt)")
	bundle := flag.String("provision", "", "this terminal's provisioning file from the controller (ebctl terminals provision): token, broker, audio service and CA; flags given override it")
	caFile := flag.String("ca", "", "the controller's CA certificate (its <data>/ca.pem): the broker and audio service must show a certificate it issued")
	tokenFile := flag.String("token-file", "", "file holding this terminal's token (ebctl terminals provision)")
	plaintext := flag.Bool("insecure-plaintext", false, "LAB ONLY: dial a controller started with --insecure-plaintext, without TLS")
	flag.StringVar(&o.GRPCAddr, "grpc", "127.0.0.1:7700", "controller's audio service address")
	flag.DurationVar(&o.Heartbeat, "heartbeat", 30*time.Second, "telemetry period; the controller marks the terminal offline after two silent periods")
	keyFile := flag.String("controller-key", "", "the controller's public key (PEM; its <data>/signing.pub): only commands it signed are acted on (required)")
	flag.StringVar(&o.StateDir, "state-dir", "", "directory for what must survive a restart (the last command accepted, so it cannot be replayed); empty: memory only")
	flag.DurationVar(&o.ClockOffset, "clock-offset", 0, "test affordance: act as if this terminal's clock were this far off (e.g. -1.5s), to show that terminals with bad clocks still start together")
	verbose := flag.Bool("v", false, "debug logging")
	flag.Parse()
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
	// And it joins only the controller its CA vouches for, as itself (its token).
	if err := credentials(&o, *bundle, *caFile, *tokenFile, *mqttAddr, *plaintext); err != nil {
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

// credentials fills in the terminal's token, TLS trust and addresses from the provisioning
// file, then from the flags the user gave, which win.
func credentials(o *agent.Options, bundleFile, caFile, tokenFile, mqttAddr string, plaintext bool) error {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var caPEM []byte
	if bundleFile != "" {
		b, err := provision.Read(bundleFile)
		if err != nil {
			return err
		}
		if o.TerminalID == "" {
			o.TerminalID = b.Terminal
		}
		if b.Terminal != o.TerminalID {
			return fmt.Errorf("%s is terminal %s's provisioning file, not %s's", bundleFile, b.Terminal, o.TerminalID)
		}
		o.Token, caPEM = b.Token, []byte(b.CA)
		if !set["broker"] && !set["mqtt"] && b.Broker != "" {
			o.BrokerURL = b.Broker
		}
		if !set["grpc"] && b.GRPC != "" {
			o.GRPCAddr = b.GRPC
		}
	}
	if tokenFile != "" {
		tok, err := provision.ReadToken(tokenFile)
		if err != nil {
			return err
		}
		o.Token = tok
	}
	if caFile != "" {
		var err error
		if caPEM, err = os.ReadFile(caFile); err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
	}
	if o.Token == "" {
		return fmt.Errorf("no token: give --provision FILE or --token-file FILE (ebctl terminals provision %s)", o.TerminalID)
	}
	scheme := "tls://"
	switch {
	case plaintext:
		scheme = "tcp://"
	case len(caPEM) == 0:
		return fmt.Errorf("no CA: give --ca (the controller's <data>/ca.pem) or --provision FILE, so the controller can be told from an impostor")
	default:
		var err error
		if o.TLS, err = provision.ClientTLS(caPEM); err != nil {
			return fmt.Errorf("CA: %w", err)
		}
	}
	if o.BrokerURL == "" {
		o.BrokerURL = scheme + mqttAddr
	}
	return nil
}
