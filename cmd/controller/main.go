// Command controller runs the township broadcast controller.
package main

import (
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with --pprof, on its own address
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"dalaba/controller"
	"dalaba/controller/dispatch"
	"dalaba/controller/limits"
	"dalaba/controller/live"
	"dalaba/proto/signing"
)

func main() {
	var o controller.Options
	flag.StringVar(&o.HTTPAddr, "http", "127.0.0.1:8080", "HTTP API listen address")
	flag.StringVar(&o.MQTTAddr, "mqtt", "127.0.0.1:1883", "embedded MQTT broker listen address")
	flag.StringVar(&o.GRPCAddr, "grpc", "127.0.0.1:7700", "audio service (gRPC) listen address")
	flag.StringVar(&o.DataDir, "data", "./data", "directory for the store and program audio")
	flag.StringVar(&o.SiteCSV, "site", "", "terminal inventory CSV to import at start (applies whole or not at all)")
	flag.StringVar(&o.BrokerURL, "broker", "", "external MQTT broker URL, e.g. tcp://127.0.0.1:1883 (default: embedded broker)")
	flag.StringVar(&o.SchedulesDir, "schedules", "./schedules", "directory of schedule files (*.yaml); SIGHUP re-reads it")
	flag.StringVar(&o.VoicesDir, "voices", "./tts-voices", "directory of text-to-speech voices (*.yaml)")
	flag.StringVar(&o.TimeZone, "timezone", "Asia/Shanghai", "time zone of schedules that name none")
	flag.StringVar(&o.AdminPassword, "admin-password", "", "password of the first admin, created when there are no users (default $DALABA_ADMIN_PASSWORD; else generated and logged once)")
	flag.StringVar(&o.SensitiveTermsFile, "sensitive-terms", "", "sensitive terms for the secrecy check, one per line (default: a built-in list)")
	flag.DurationVar(&o.SessionTTL, "session-ttl", 12*time.Hour, "how long a staff login lasts")
	flag.Float64Var(&o.Limits.Rate, "rate", limits.DefaultRate, "API requests per second per client (a staff user, else an IP address); negative: no request limits")
	flag.IntVar(&o.Limits.Burst, "rate-burst", limits.DefaultBurst, "API requests a client may send at once")
	flag.Float64Var(&o.Limits.LoginRate, "login-rate", limits.DefaultLoginRate, "login attempts per second per IP address")
	flag.IntVar(&o.Limits.LoginBurst, "login-burst", limits.DefaultLoginBurst, "login attempts an IP address may make at once")
	flag.DurationVar(&o.StartLead, "start-lead", dispatch.DefaultBaseLead, "synchronised start: the least time from sending a program to the instant every terminal starts it (raise for slow links)")
	flag.DurationVar(&o.LiveDelay, "live-delay", live.DefaultDelay, "live shouting: from a frame's arrival to its play time; more absorbs more network jitter, less lowers latency")
	tlsHosts := flag.String("tls-hosts", "", "comma-separated extra host names or IPs terminals dial the controller by, for its TLS certificate")
	flag.StringVar(&o.BrokerCA, "broker-ca", "", "CA certificate (PEM) to trust a tls:// --broker by (default: the system's)")
	flag.BoolVar(&o.Plaintext, "insecure-plaintext", false, "LAB ONLY: serve MQTT and gRPC without TLS (terminal tokens cross the network in clear)")
	flag.BoolVar(&o.OpenBroker, "insecure-open-broker", false, "LAB ONLY: the embedded broker without terminal credentials or topic ACL (anyone may connect and publish)")
	flag.StringVar(&o.ProvisionDir, "provision-sim", "", "DEMO: at start give every terminal a new token and write its provisioning bundle (<id>.json) into this directory, for fleet-sim; real terminals' old tokens stop working")
	verbose := flag.Bool("v", false, "debug logging")
	pprofAddr := flag.String("pprof", "", "serve Go profiles on this address (for operators; off by default)")
	flag.StringVar(&o.CascadeConfig, "cascade", "", "cascade configuration (YAML): upper platforms trusted, upstream URL, platforms below; see docs/CASCADE.md")
	printCascade := flag.Bool("print-cascade-cert", false, "print the certificate other platforms verify this controller's cascade messages with (PEM, <data>/cascade.crt; made on first use) and exit")
	printKey := flag.Bool("print-signing-key", false, "print the public key terminals verify commands with (PEM, as in <data>/signing.pub; the key is created on first use) and exit")
	flag.Parse()
	if *tlsHosts != "" {
		o.TLSHosts = strings.Split(*tlsHosts, ",")
	}
	if *printCascade {
		os.Exit(printCascadeCert(o.DataDir, o.CascadeConfig))
	}
	if *printKey {
		os.Exit(printSigningKey(o.DataDir))
	}
	if o.AdminPassword == "" {
		o.AdminPassword = os.Getenv("DALABA_ADMIN_PASSWORD") // not a flag default: --help would print it
	}
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1) // before Start: an early SIGHUP must not kill the process
	signal.Notify(hup, syscall.SIGHUP)
	c, err := controller.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
	go func() {
		for range hup {
			if err := c.Reload(ctx); err != nil {
				o.Logger.Error("schedule files not reloaded; nothing changed", "err", err)
			}
		}
	}()
	if err := c.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
}

// printSigningKey writes the controller's public command key to stdout, for provisioning
// terminals (terminal-agent --controller-key).
func printSigningKey(dataDir string) int {
	key, err := controller.LoadSigningKey(dataDir, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err == nil {
		var pem []byte
		if pem, err = controller.PublicKeyPEM(key.Public().(ed25519.PublicKey)); err == nil {
			os.Stdout.Write(pem)
			fmt.Fprintln(os.Stderr, "key id", signing.KeyID(key.Public().(ed25519.PublicKey)))
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "controller:", err)
	return 1
}
