// Package provision is what the controller gives a terminal to join it: its token, where the
// broker and audio service are, and the CA certificate to trust them by. The controller writes
// one bundle per terminal (ebctl terminals provision); agents read it (--provision).
package provision

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Bundle is one terminal's provisioning file (JSON, mode 0600: the token is a secret).
type Bundle struct {
	Terminal string `json:"terminal"`
	Token    string `json:"token"`  // the terminal's credential on the broker and the audio service
	Broker   string `json:"broker"` // tls://host:port
	GRPC     string `json:"grpc"`   // host:port, TLS
	CA       string `json:"ca"`     // PEM certificate of the controller's CA
}

// TokenPattern is how a token looks: 32 random bytes, base64url without padding.
var TokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// Write writes b to path, readable only by its owner.
func Write(path string, b Bundle) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Read reads and checks a bundle.
func Read(path string) (Bundle, error) {
	var b Bundle
	data, err := os.ReadFile(path)
	if err != nil {
		return b, fmt.Errorf("provisioning file: %w", err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("provisioning file %s: %w", path, err)
	}
	switch {
	case b.Terminal == "":
		return b, fmt.Errorf("provisioning file %s: no terminal", path)
	case !TokenPattern.MatchString(b.Token):
		return b, fmt.Errorf("provisioning file %s: the token is not 43 base64url characters", path)
	}
	return b, nil
}

// ReadToken reads a token file: the token alone, surrounding white space ignored.
func ReadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if !TokenPattern.MatchString(tok) {
		return "", fmt.Errorf("token file %s: not a token (43 base64url characters)", path)
	}
	return tok, nil
}

// ClientTLS trusts only servers whose certificate the controller's CA (caPEM) issued.
func ClientTLS(caPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no PEM certificate in the CA")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// ReadCA reads a CA certificate file for ClientTLS.
func ReadCA(path string) (*tls.Config, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	c, err := ClientTLS(pem)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", path, err)
	}
	return c, nil
}

// Metadata keys of the gRPC calls a terminal makes: which terminal, and its token.
const (
	TerminalKey = "dalaba-terminal"
	TokenKey    = "dalaba-token"
)
