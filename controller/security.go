package controller

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"dalaba/controller/broker"
	"dalaba/controller/identity"
	"dalaba/controller/pki"
	"dalaba/controller/store"
	"dalaba/proto/provision"
)

// Who may talk to the controller's terminal side: MQTT and gRPC over TLS with the controller's
// own CA (package pki), each terminal with its own token (package identity), checked by the
// embedded broker's ACL and by the audio service. Options.Plaintext and Options.OpenBroker
// turn parts of it off for a lab, loudly.

// security is what startSecurity set up.
type security struct {
	pki   *pki.PKI // nil with Options.Plaintext
	creds *identity.Credentials
	grpc  *identity.GRPC

	grpcAddr string // the audio service's address as terminals are told it
	log      *slog.Logger
}

func startSecurity(ctx context.Context, opts Options, db *store.DB, c *Controller, log *slog.Logger) (*security, error) {
	sec := &security{log: log}
	var err error
	if sec.creds, err = identity.Open(ctx, db, c.Inventory, log); err != nil {
		return nil, err
	}
	sec.grpc = &identity.GRPC{Credentials: sec.creds}
	sec.creds.OnRevoke(sec.grpc.CutOff)
	if opts.Plaintext {
		log.Error("INSECURE: --insecure-plaintext: MQTT and gRPC are served without TLS; tokens cross the network in clear (lab use only)")
	} else if sec.pki, err = pki.Load(opts.DataDir, serverHosts(opts), log); err != nil {
		return nil, err
	}
	if opts.OpenBroker && opts.BrokerURL == "" {
		log.Error("INSECURE: --insecure-open-broker: the embedded broker lets anyone connect and use any topic; only signed commands protect the terminals (lab use only)")
	}
	return sec, nil
}

// serverTLS is the listeners' TLS configuration, nil with Options.Plaintext.
func (s *security) serverTLS() *tls.Config {
	if s.pki == nil {
		return nil
	}
	return s.pki.ServerConfig()
}

// grpcOptions are the audio service's transport credentials and token checks.
func (s *security) grpcOptions() []grpc.ServerOption {
	opts := s.grpc.ServerOptions()
	if cfg := s.serverTLS(); cfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	return opts
}

// serverHosts are the names the server certificate must carry: the loopback names, the hosts
// of the listen addresses (with this machine's name and addresses for a wildcard), and
// Options.TLSHosts.
func serverHosts(opts Options) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, addr := range []string{opts.MQTTAddr, opts.GRPCAddr} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			hosts = append(hosts, machineHosts()...)
			continue
		}
		hosts = append(hosts, host)
	}
	hosts = append(hosts, opts.TLSHosts...)
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

func machineHosts() []string {
	var out []string
	if name, err := os.Hostname(); err == nil {
		out = append(out, name)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			out = append(out, n.IP.String())
		}
	}
	return out
}

// Provision gives each terminal a new token (any old one stops working) and returns what it
// needs to join: implements api.Credentials.
func (c *Controller) Provision(ctx context.Context, terminals []string) ([]provision.Bundle, error) {
	tokens, err := c.sec.creds.Mint(ctx, terminals)
	if err != nil {
		return nil, err
	}
	out := make([]provision.Bundle, 0, len(terminals))
	for _, id := range terminals {
		b := provision.Bundle{Terminal: id, Token: tokens[id], Broker: c.TerminalBroker, GRPC: c.sec.grpcAddr}
		if c.sec.pki != nil {
			b.CA = string(c.sec.pki.CAPEM)
		}
		out = append(out, b)
	}
	return out, nil
}

// Revoke cuts a terminal off: implements api.Credentials.
func (c *Controller) Revoke(ctx context.Context, terminal string) error {
	return c.sec.creds.Revoke(ctx, terminal)
}

// provisionAll provisions every terminal of the inventory into dir, a bundle <id>.json each:
// for the demo's simulated fleet and tests (Options.ProvisionDir), never for real terminals.
func (c *Controller) provisionAll(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	var ids []string
	for _, t := range c.Inventory().Terminals() {
		ids = append(ids, t.ID)
	}
	bundles, err := c.Provision(ctx, ids)
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	for _, b := range bundles {
		if err := provision.Write(filepath.Join(dir, b.Terminal+".json"), b); err != nil {
			return fmt.Errorf("provision: %w", err)
		}
	}
	c.sec.log.Warn("every terminal provisioned anew for a simulated fleet (--provision-sim); real terminals' old tokens no longer work",
		"dir", dir, "terminals", len(bundles))
	return nil
}

// terminalBrokerURL is the broker URL terminals are given: the external broker's (without
// credentials), or the embedded one's, tls:// unless plain.
func terminalBrokerURL(opts Options, mqttAddr string) string {
	if opts.BrokerURL != "" {
		if u, err := url.Parse(opts.BrokerURL); err == nil {
			u.User = nil
			return u.String()
		}
		return opts.BrokerURL
	}
	if opts.Plaintext {
		return "tcp://" + advertised(mqttAddr)
	}
	return "tls://" + advertised(mqttAddr)
}

// advertised is a listen address as terminals dial it: a wildcard host becomes this machine's
// name.
func advertised(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil {
			return net.JoinHostPort(name, port)
		}
	}
	return addr
}

// connectBus joins the external broker, or starts the embedded one with the terminals'
// credentials and ACL (unless OpenBroker) and TLS (unless Plaintext).
func connectBus(opts Options, sec *security, log *slog.Logger) (broker.Bus, error) {
	if opts.BrokerURL != "" {
		var cfg *tls.Config
		if opts.BrokerCA != "" {
			var err error
			if cfg, err = provision.ReadCA(opts.BrokerCA); err != nil {
				return nil, fmt.Errorf("external broker: %w", err)
			}
		}
		host, _ := os.Hostname()
		return broker.ConnectExternal(opts.BrokerURL, "dalaba-controller-"+host, cfg, log)
	}
	eo := broker.EmbeddedOptions{Addr: opts.MQTTAddr, Logger: log, TLS: sec.serverTLS()}
	if !opts.OpenBroker {
		eo.Authority = sec.creds
	}
	b, err := broker.StartEmbedded(eo)
	if err != nil {
		return nil, err
	}
	sec.creds.OnRevoke(b.CutOff)
	return b, nil
}

// refusals counts, for the metrics, what the embedded broker's ACL and the audio service's
// token check refused.
func (s *security) refusals(bus broker.Bus) func() map[[2]string]int64 {
	return func() map[[2]string]int64 {
		out := map[[2]string]int64{}
		if e, ok := bus.(*broker.Embedded); ok {
			for what, n := range e.Refusals() {
				out[[2]string{"mqtt", what}] = n
			}
		}
		for why, n := range s.grpc.Refusals() {
			out[[2]string{"grpc", why}] = n
		}
		return out
	}
}
