// Package signing makes a command on an MQTT topic something only the controller can say.
// The controller signs every command with its Ed25519 key; a terminal verifies before acting
// and refuses what is unsigned, forged, replayed or stale. This holds on any broker, including
// an external one that others can publish to: the broker is a transport, not a trust boundary.
//
// What is signed binds the command to its topic (a command for one village cannot be replayed
// onto another's topic), to a sequence number (each accepted once) and to the time it was
// signed (nothing older than MaxAge is accepted, so the record of seen numbers stays bounded).
package signing

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
)

// Why a command was refused. Every refusal wraps one of these.
var (
	ErrUnsigned     = errors.New("command is not signed")
	ErrUnknownKey   = errors.New("command signed by an unknown key")
	ErrBadSignature = errors.New("command signature does not verify")
	ErrReplayed     = errors.New("command already seen (replayed)")
	ErrStale        = errors.New("command signed too long ago")
	ErrFuture       = errors.New("command signed in the future")
)

// Acceptance window around a terminal's clock (its estimate of the controller's).
const (
	// MaxAge matches the longest validity window of a broadcast: a terminal offline for a day
	// still gets its queued commands from its persistent session.
	MaxAge = 24 * time.Hour
	// MaxAhead tolerates a terminal whose clock is behind the controller's.
	MaxAhead = 5 * time.Minute
)

// Message is the exact byte string signed: a domain label, the topic, the sequence number,
// the signing time and the command.
func Message(topic string, seq uint64, atUnixMs int64, command []byte) []byte {
	const label = "dalaba/v1 signed command\x00"
	m := make([]byte, 0, len(label)+len(topic)+1+16+len(command))
	m = append(m, label...)
	m = append(m, topic...)
	m = append(m, 0)
	m = binary.BigEndian.AppendUint64(m, seq)
	m = binary.BigEndian.AppendUint64(m, uint64(atUnixMs))
	return append(m, command...)
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs the controller's commands. Sequence numbers are the signing time in
// microseconds, bumped when two commands share a microsecond: strictly increasing across
// restarts without storing a counter, as long as the controller's clock does not jump back.
type Signer struct {
	key   ed25519.PrivateKey
	keyID string
	now   func() time.Time

	mu   sync.Mutex
	last uint64
}

// NewSigner signs with key; now is the clock (nil: time.Now).
func NewSigner(key ed25519.PrivateKey, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, keyID: KeyID(key.Public().(ed25519.PublicKey)), now: now}
}

// KeyID names the signer's public key.
func (s *Signer) KeyID() string { return s.keyID }

// Sign wraps a command for a topic; the result is the MQTT payload.
func (s *Signer) Sign(topic string, cmd *dalabapb.Command) ([]byte, error) {
	body, err := proto.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	seq := max(s.last+1, uint64(now.UnixMicro()))
	s.last = seq
	s.mu.Unlock()
	at := now.UnixMilli()
	sc := &dalabapb.SignedCommand{Command: body, Seq: seq, AtUnixMs: at, KeyId: s.keyID,
		Signature: ed25519.Sign(s.key, Message(topic, seq, at, body))}
	return proto.Marshal(sc)
}
