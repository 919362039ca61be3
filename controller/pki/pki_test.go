package pki

import (
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestLoadMakesACAOnceAndACertificateForEveryHost(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(dir, []string{"127.0.0.1", "localhost"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.CAPEM)
	leaf := p.Server.Leaf
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "caoxi.example", Roots: roots}); err == nil {
		t.Error("the certificate verified for a host it was not made for")
	}

	// A second start keeps the CA and the certificate; a new host re-issues the certificate
	// from the same CA, so provisioned terminals still trust it.
	again, err := Load(dir, []string{"127.0.0.1", "localhost"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.CAPEM) != string(p.CAPEM) || !again.Server.Leaf.Equal(leaf) {
		t.Error("a restart made a new CA or certificate")
	}
	moved, err := Load(dir, []string{"127.0.0.1", "localhost", "caoxi.example"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if string(moved.CAPEM) != string(p.CAPEM) {
		t.Error("a new host made a new CA: every terminal would have to be provisioned again")
	}
	if _, err := moved.Server.Leaf.Verify(x509.VerifyOptions{DNSName: "caoxi.example", Roots: roots}); err != nil {
		t.Errorf("re-issued certificate: %v", err)
	}
	for _, f := range []string{caKeyFile, serverKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
}

func TestLoadRefusesAKeyOthersMayRead(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir, []string{"127.0.0.1"}, quiet); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, caKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, []string{"127.0.0.1"}, quiet); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("load with a readable CA key: %v, want a refusal saying chmod 600", err)
	}
}
