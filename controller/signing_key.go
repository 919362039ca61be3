package controller

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"dalaba/proto/signing"
)

// The controller's command-signing key lives in its data directory: the private key, which
// only the controller reads, and the public key that every terminal is given
// (terminal-agent --controller-key).
const (
	SigningKeyFile    = "signing.key" // PEM PKCS#8 Ed25519 private key, mode 0600
	SigningPubKeyFile = "signing.pub" // PEM PKIX public key
)

// LoadSigningKey reads the controller's signing key from dataDir, creating it on first start,
// and writes the public key beside it. A private key that others may read is refused: whoever
// reads it can make every horn speak.
func LoadSigningKey(dataDir string, log *slog.Logger) (ed25519.PrivateKey, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	path := filepath.Join(dataDir, SigningKeyFile)
	key, err := readSigningKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createSigningKey(path)
		if err == nil {
			log.Info("created the command-signing key: give terminals the public key (--controller-key)",
				"key", path, "public", filepath.Join(dataDir, SigningPubKeyFile))
		}
	}
	if err != nil {
		return nil, err
	}
	pub, err := PublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	pubPath := filepath.Join(dataDir, SigningPubKeyFile)
	if old, err := os.ReadFile(pubPath); err != nil || !bytes.Equal(old, pub) {
		if err := writeFileAtomic(pubPath, pub, 0o644); err != nil {
			return nil, fmt.Errorf("signing key: write public key: %w", err)
		}
	}
	return key, nil
}

func readSigningKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s: others may read it (mode %04o); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: not a PEM \"PRIVATE KEY\" (PKCS#8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: a %T, want Ed25519", path, k)
	}
	return key, nil
}

func createSigningKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return key, nil
}

// PublicKeyPEM is a public key as terminals read it (PEM "PUBLIC KEY", PKIX).
func PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// writeFileAtomic writes a whole file or nothing: a temporary file made with perm, synced,
// renamed over path, and the directory synced so the rename survives a power cut.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails once renamed
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// newSigner loads the key and logs which one signs this run's commands.
func newSigner(dataDir string, log *slog.Logger) (*signing.Signer, ed25519.PublicKey, error) {
	key, err := LoadSigningKey(dataDir, log)
	if err != nil {
		return nil, nil, err
	}
	s := signing.NewSigner(key, nil)
	log.Info("commands are signed", "key_id", s.KeyID(), "public_key", filepath.Join(dataDir, SigningPubKeyFile))
	return s, key.Public().(ed25519.PublicKey), nil
}
