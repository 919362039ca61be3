// Package pki gives the controller its own certificate authority and a server certificate for
// its MQTT and gRPC listeners, both kept in the data directory. Terminals trust the CA
// certificate (ca.pem) they are provisioned with; nothing here needs a public CA.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files in the data directory. The keys are mode 0600; the CA certificate is for terminals.
const (
	CACertFile     = "ca.pem"
	caKeyFile      = "ca.key"
	serverCertFile = "server.pem"
	serverKeyFile  = "server.key"
)

const (
	caLifetime     = 20 * 365 * 24 * time.Hour // a horn on a pole is provisioned once
	serverLifetime = 2 * 365 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour
)

// PKI is the controller's CA and the server certificate made from it.
type PKI struct {
	CAFile string // the CA certificate terminals are given (--ca)
	CAPEM  []byte
	Server tls.Certificate
}

// ServerConfig is the TLS configuration of the MQTT and gRPC listeners.
func (p *PKI) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Server}, MinVersion: tls.VersionTLS12}
}

// Load reads the CA and server certificate from dir, creating the CA on first start, and a
// new server certificate when there is none, it expires within 30 days, or it does not name
// every one of hosts (host names or IP addresses).
func Load(dir string, hosts []string, log *slog.Logger) (*PKI, error) {
	caCert, caKey, err := loadOrCreateCA(dir, log)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	p := &PKI{CAFile: filepath.Join(dir, CACertFile), CAPEM: encodeCert(caCert.Raw)}
	certPath, keyPath := filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)
	if p.Server, err = tls.LoadX509KeyPair(certPath, keyPath); err == nil && covers(p.Server.Leaf, caCert, hosts) {
		return p, nil
	}
	cert, key, err := issueServer(caCert, caKey, hosts)
	if err != nil {
		return nil, fmt.Errorf("tls: server certificate: %w", err)
	}
	if err := writeKeyPair(certPath, keyPath, cert, key); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	if p.Server, err = tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	log.Info("issued the server certificate", "file", certPath, "hosts", hosts)
	return p, nil
}

func loadOrCreateCA(dir string, log *slog.Logger) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, caKeyFile)
	cert, key, err := readKeyPair(certPath, keyPath)
	if !errors.Is(err, fs.ErrNotExist) {
		return cert, key, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Dalaba controller CA", Organization: []string{"Dalaba"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKeyPair(certPath, keyPath, der, key); err != nil {
		return nil, nil, err
	}
	log.Info("created the controller's certificate authority: give terminals its certificate (--ca)", "ca", certPath)
	cert, err = x509.ParseCertificate(der)
	return cert, key, err
}

func issueServer(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "Dalaba controller", Organization: []string{"Dalaba"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	return der, key, err
}

// covers says whether leaf was issued by ca, is valid for a while yet, and names every host.
func covers(leaf, ca *x509.Certificate, hosts []string) bool {
	if leaf == nil || leaf.CheckSignatureFrom(ca) != nil || time.Until(leaf.NotAfter) < renewBefore {
		return false
	}
	return !slices.ContainsFunc(hosts, func(h string) bool { return leaf.VerifyHostname(h) != nil })
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
