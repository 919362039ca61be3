package controller_test

// Terminals need a token and the controller's CA to join (TLS and the broker's ACL are on by
// default): the harness provisions each terminal it starts, once per controller, through the
// controller's own Provision, so tests start agents exactly as before.

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"dalaba/controller"
	"dalaba/proto/provision"
	agent "dalaba/terminal-agent"
)

var bundles sync.Map // bundleKey -> provision.Bundle

type bundleKey struct {
	c  *controller.Controller
	id string
}

// bundleFor is terminal id's provisioning bundle on c, minted on first use.
func bundleFor(t testing.TB, c *controller.Controller, id string) provision.Bundle {
	t.Helper()
	k := bundleKey{c, id}
	if b, ok := bundles.Load(k); ok {
		return b.(provision.Bundle)
	}
	bs, err := c.Provision(context.Background(), []string{id})
	if err != nil {
		t.Fatalf("provision %s: %v", id, err)
	}
	b, _ := bundles.LoadOrStore(k, bs[0])
	return b.(provision.Bundle)
}

// bundleFile writes id's bundle for an agent process (terminal-agent --provision).
func bundleFile(t testing.TB, c *controller.Controller, id string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), id+".json")
	if err := provision.Write(path, bundleFor(t, c, id)); err != nil {
		t.Fatal(err)
	}
	return path
}

// provisionAll writes every terminal's bundle into a directory, for fleet-sim --provision.
func provisionAll(t testing.TB, c *controller.Controller) string {
	t.Helper()
	dir := t.TempDir()
	for id, b := range tokensForAll(t, c) {
		if err := provision.Write(filepath.Join(dir, id+".json"), b); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tokensForAll is every terminal's bundle on c, minted in one go for those without one yet.
func tokensForAll(t testing.TB, c *controller.Controller) map[string]provision.Bundle {
	t.Helper()
	var missing []string
	for _, term := range c.Inventory().Terminals() {
		if _, ok := bundles.Load(bundleKey{c, term.ID}); !ok {
			missing = append(missing, term.ID)
		}
	}
	if len(missing) > 0 {
		bs, err := c.Provision(context.Background(), missing)
		if err != nil {
			t.Fatalf("provision: %v", err)
		}
		for _, b := range bs {
			bundles.Store(bundleKey{c, b.Terminal}, b)
		}
	}
	out := map[string]provision.Bundle{}
	for _, term := range c.Inventory().Terminals() {
		out[term.ID] = bundleFor(t, c, term.ID)
	}
	return out
}

// agentTLS is how an in-process agent trusts c: its CA, or nil for a plain lab controller.
func agentTLS(t testing.TB, c *controller.Controller) *tls.Config {
	t.Helper()
	if c.CAFile == "" {
		return nil
	}
	cfg, err := provision.ReadCA(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// brokerURLOf is the broker's URL as terminals dial it.
func brokerURLOf(c *controller.Controller) string { return c.TerminalBroker }

// plainFlags are the agent flags for a lab controller without TLS.
func plainFlags(c *controller.Controller) []string {
	if c.CAFile == "" {
		return []string{"--insecure-plaintext"}
	}
	return nil
}

// grpcCreds dials c's gRPC services as a terminal or speaker would: TLS trusting its CA.
func grpcCreds(t testing.TB, c *controller.Controller) grpc.DialOption {
	t.Helper()
	return agent.Options{TLS: agentTLS(t, c)}.TransportCredentials()
}
