package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/pki"
)

// startMosquittoTLS runs Mosquitto with a TLS listener only, its certificate from a CA of its
// own (made with controller/pki), and returns its tls:// URL and that CA's file.
func startMosquittoTLS(t *testing.T) (string, string) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	dir := t.TempDir()
	if _, err := pki.Load(dir, []string{"127.0.0.1"}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	m := &mosquitto{t: t, bin: bin, conf: filepath.Join(dir, "mosquitto.conf"), addr: fmt.Sprintf("127.0.0.1:%d", port)}
	// user root: Mosquitto would otherwise drop to its own user, who cannot read the test's
	// private directory.
	conf := fmt.Sprintf("user root\nlistener %d 127.0.0.1\nallow_anonymous true\ncafile %[2]s/ca.pem\ncertfile %[2]s/server.pem\nkeyfile %[2]s/server.key\n", port, dir)
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if m.log, err = os.Create(filepath.Join(dir, "mosquitto.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			b, _ := os.ReadFile(m.log.Name())
			t.Logf("mosquitto log:\n%s", b)
		}
		m.log.Close()
	})
	m.start()
	return "tls://" + m.addr, filepath.Join(dir, pki.CACertFile)
}

// The controller joins an external broker over TLS when its URL says so, trusting the CA it is
// given (--broker-ca), and refuses a broker whose certificate that CA did not issue.
func TestControllerDialsExternalBrokerOverTLS(t *testing.T) {
	url, ca := startMosquittoTLS(t)
	start := func(brokerCA string) (*controller.Controller, error) {
		ctx, cancel := context.WithCancel(context.Background())
		c, err := controller.Start(ctx, controller.Options{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
			DataDir: filepath.Join(t.TempDir(), "data"), SiteCSV: siteCSV, BrokerURL: url, BrokerCA: brokerCA,
			AdminPassword: adminPassword, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			cancel()
			return nil, err
		}
		t.Cleanup(func() { cancel(); c.Wait() })
		return c, nil
	}
	if _, err := start(""); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("trusting the system roots only: %v, want a certificate error", err)
	}
	c, err := start(ca)
	if err != nil {
		t.Fatalf("with --broker-ca: %v", err)
	}
	got := make(chan string, 1)
	if err := c.Bus.Subscribe("dalaba/v1/test/+", 1, func(topic string, _ []byte) { got <- topic }); err != nil {
		t.Fatal(err)
	}
	if err := c.Bus.Publish("dalaba/v1/test/tls", []byte("x"), 1, false); err != nil {
		t.Fatal(err)
	}
	select {
	case topic := <-got:
		if topic != "dalaba/v1/test/tls" {
			t.Errorf("got %s", topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a message through the TLS broker never came back")
	}
	if c.TerminalBroker != url {
		t.Errorf("terminals are told the broker is %s, want %s", c.TerminalBroker, url)
	}
}
