package cascade

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Signature is the detached signature file beside a message (GD/J 081 / GY/T 389 shape): which
// certificate, when, which algorithms, and the value over the message file's exact bytes.
type Signature struct {
	XMLName   xml.Name  `xml:"Signature"`
	Related   *EBDRef   `xml:"RelatedEBD,omitempty"`
	CertSN    string    `xml:"SignatureCert>CertSN"` // serial number, hex
	Time      string    `xml:"SignatureTime"`
	Digest    string    `xml:"DigestAlgorithm"`
	Algorithm string    `xml:"SignatureAlgorithm"`
	Value     string    `xml:"SignatureValue"` // base64
	Unknown   []unknown `xml:",any"`
}

// Algorithm pairs as the signature file names them.
const (
	AlgSM2     = "SM2"   // with DigestAlgorithm SM3
	AlgECDSA   = "ECDSA" // P-256 with SHA256
	AlgEd25519 = "Ed25519"
)

// ErrSignature is every way a signature can fail; errors wrap it with the reason.
var ErrSignature = errors.New("signature verification failed")

func sigErr(format string, a ...any) error {
	return &ParseError{Code: ResultSignature, Err: fmt.Errorf("%w: %s", ErrSignature, fmt.Sprintf(format, a...))}
}

// ParseSignature reads a signature file strictly.
func ParseSignature(b []byte) (*Signature, error) {
	var s Signature
	if err := decodeStrict(b, "Signature", &s); err != nil {
		return nil, sigErr("signature file: %v", err)
	}
	if err := refuseUnknown("Signature", s.Unknown); err != nil {
		return nil, sigErr("signature file: %v", err)
	}
	return &s, nil
}

// Signer signs this controller's messages.
type Signer struct {
	Cert *smx509.Certificate
	Key  any // *sm2.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
}

// Sign makes the detached signature of msg (the message file's bytes).
func (s *Signer) Sign(msg []byte, ebdID string, now time.Time) ([]byte, error) {
	sig := Signature{CertSN: strings.ToUpper(s.Cert.SerialNumber.Text(16)), Time: FormatTime(now)}
	if ebdID != "" {
		sig.Related = &EBDRef{EBDID: ebdID}
	}
	var v []byte
	var err error
	switch k := s.Key.(type) {
	case *sm2.PrivateKey:
		sig.Digest, sig.Algorithm = "SM3", AlgSM2
		v, err = k.SignWithSM2(rand.Reader, nil, msg)
	case *ecdsa.PrivateKey:
		sig.Digest, sig.Algorithm = "SHA256", AlgECDSA
		h := sha256.Sum256(msg)
		v, err = ecdsa.SignASN1(rand.Reader, k, h[:])
	case ed25519.PrivateKey:
		sig.Digest, sig.Algorithm = "SHA512", AlgEd25519
		v = ed25519.Sign(k, msg)
	default:
		return nil, fmt.Errorf("sign: key of type %T not supported", s.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig.Value = base64.StdEncoding.EncodeToString(v)
	return encodeXML(sig)
}

// Issuer is a certificate this controller trusts, and what it is trusted for.
type Issuer struct {
	Name string
	Role Role
	Cert *smx509.Certificate
}

// Role says what an issuer may send.
type Role string

const (
	Upper      Role = "upper"      // emergency messages to play
	Downstream Role = "downstream" // state reports of a platform below
)

// Trust holds the configured certificates, by serial number.
type Trust struct {
	bySN map[string]Issuer
}

// NewTrust indexes issuers; two certificates with one serial number are refused.
func NewTrust(issuers []Issuer) (*Trust, error) {
	t := &Trust{bySN: map[string]Issuer{}}
	for _, is := range issuers {
		sn := strings.ToUpper(is.Cert.SerialNumber.Text(16))
		if old, dup := t.bySN[sn]; dup {
			return nil, fmt.Errorf("trusted certificates %q and %q have the same serial number %s", old.Name, is.Name, sn)
		}
		t.bySN[sn] = is
	}
	return t, nil
}

// Verify checks sigFile over msg: a trusted, unexpired certificate of the expected role, the
// algorithm its key takes, and a valid value. It returns the issuer.
func (t *Trust) Verify(msg, sigFile []byte, role Role, now time.Time) (Issuer, error) {
	if len(sigFile) == 0 {
		return Issuer{}, sigErr("no signature file")
	}
	s, err := ParseSignature(sigFile)
	if err != nil {
		return Issuer{}, err
	}
	is, ok := t.bySN[strings.ToUpper(strings.TrimSpace(s.CertSN))]
	if !ok {
		return Issuer{}, sigErr("certificate %s is not a trusted one", s.CertSN)
	}
	if is.Role != role {
		return is, sigErr("certificate %s (%s) is trusted as %s, not %s", s.CertSN, is.Name, is.Role, role)
	}
	if now.Before(is.Cert.NotBefore) || now.After(is.Cert.NotAfter) {
		return is, sigErr("certificate %s (%s) valid %s to %s, not now", s.CertSN, is.Name,
			is.Cert.NotBefore.UTC().Format(time.RFC3339), is.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Value))
	if err != nil || len(v) == 0 {
		return is, sigErr("SignatureValue is not base64")
	}
	good := false
	switch k := is.Cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch {
		case sm2.IsSM2PublicKey(k) && s.Algorithm == AlgSM2 && s.Digest == "SM3":
			good = sm2.VerifyASN1WithSM2(k, nil, msg, v)
		case !sm2.IsSM2PublicKey(k) && s.Algorithm == AlgECDSA && s.Digest == "SHA256":
			h := sha256.Sum256(msg)
			good = ecdsa.VerifyASN1(k, h[:], v)
		default:
			return is, sigErr("algorithm %s/%s does not match certificate %s's key", s.Algorithm, s.Digest, s.CertSN)
		}
	case ed25519.PublicKey:
		if s.Algorithm != AlgEd25519 {
			return is, sigErr("algorithm %s does not match certificate %s's Ed25519 key", s.Algorithm, s.CertSN)
		}
		good = ed25519.Verify(k, msg, v)
	default:
		return is, sigErr("certificate %s has a key of type %T", s.CertSN, is.Cert.PublicKey)
	}
	if !good {
		return is, sigErr("signature by %s (%s) does not match the message", s.CertSN, is.Name)
	}
	return is, nil
}
