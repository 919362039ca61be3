package cascade

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// This controller's own cascade identity lives in its data directory: an SM2 key and a
// self-signed certificate the upper platform is given to trust its reports (and downstream
// platforms to trust what it relays).
const (
	KeyFile  = "cascade.key" // PEM PKCS#8 SM2 private key, mode 0600
	CertFile = "cascade.crt" // PEM certificate
)

// certYears is how long a generated certificate is valid.
const certYears = 10

// LoadSigner reads the controller's cascade key and certificate from dataDir, creating both on
// first start. name goes into the certificate's subject.
func LoadSigner(dataDir, name string) (*Signer, bool, error) {
	keyPath, certPath := filepath.Join(dataDir, KeyFile), filepath.Join(dataDir, CertFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		s, err := createSigner(keyPath, certPath, name)
		return s, true, err
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		return nil, false, fmt.Errorf("cascade key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("cascade key %s: mode %v lets others read it; chmod 600", keyPath, fi.Mode().Perm())
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, false, fmt.Errorf("cascade key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, false, fmt.Errorf("cascade key %s: no PEM block", keyPath)
	}
	key, err := smx509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, false, fmt.Errorf("cascade key %s: %w", keyPath, err)
	}
	cert, err := LoadCert(certPath)
	if err != nil {
		return nil, false, err
	}
	return &Signer{Cert: cert, Key: key}, false, nil
}

func createSigner(keyPath, certPath, name string) (*Signer, error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cascade key: %w", err)
	}
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("cascade key: %w", err)
	}
	now := time.Now()
	certPEM, err := SelfSigned(key, name, now.Add(-time.Hour), now.AddDate(certYears, 0, 0))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o755); err != nil {
		return nil, fmt.Errorf("cascade key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("cascade key: %w", err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("cascade certificate: %w", err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, err
	}
	return &Signer{Cert: cert, Key: key}, nil
}

// SelfSigned makes a PEM certificate for key (SM2, ECDSA or Ed25519) valid from notBefore to
// notAfter, with a random serial number.
func SelfSigned(key crypto.Signer, name string, notBefore, notAfter time.Time) ([]byte, error) {
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 96))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: name}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certificate for %s: %w", name, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// LoadCert reads one PEM certificate.
func LoadCert(path string) (*smx509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	c, err := ParseCertPEM(b)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	return c, nil
}

// ParseCertPEM parses the first CERTIFICATE block.
func ParseCertPEM(b []byte) (*smx509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return smx509.ParseCertificate(blk.Bytes)
}
