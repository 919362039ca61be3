package signing

import (
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
)

// Verifier checks commands on a terminal. It remembers every sequence number accepted within
// MaxAge (older ones are refused as stale anyway), and a floor below which nothing is accepted:
// the highest number seen before a restart, so that a terminal that lost power cannot be
// made to replay what it had already acted on.
type Verifier struct {
	keys map[string]ed25519.PublicKey
	now  func() time.Time

	mu    sync.Mutex
	floor uint64
	seen  map[uint64]time.Time // seq -> signing time, pruned after MaxAge
	high  uint64
}

// NewVerifier trusts the given controller keys. now is the terminal's best idea of the
// controller's clock (nil: time.Now). floor is the highest sequence number accepted before a
// restart (0 for none).
func NewVerifier(keys []ed25519.PublicKey, now func() time.Time, floor uint64) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("signing: no controller key to verify commands with")
	}
	if now == nil {
		now = time.Now
	}
	v := &Verifier{keys: map[string]ed25519.PublicKey{}, now: now, floor: floor, high: floor, seen: map[uint64]time.Time{}}
	for _, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("signing: controller key has %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		v.keys[KeyID(k)] = k
	}
	return v, nil
}

// Open verifies a payload received on topic and returns the command in it. The sequence
// number is taken as used only when everything else holds, so a forgery cannot burn it.
func (v *Verifier) Open(topic string, payload []byte) (*dalabapb.Command, uint64, error) {
	var sc dalabapb.SignedCommand
	if err := proto.Unmarshal(payload, &sc); err != nil || len(sc.Signature) == 0 || len(sc.Command) == 0 {
		return nil, 0, fmt.Errorf("%w (%d bytes on %s)", ErrUnsigned, len(payload), topic)
	}
	key, ok := v.keys[sc.KeyId]
	if !ok {
		return nil, sc.Seq, fmt.Errorf("%w %q", ErrUnknownKey, sc.KeyId)
	}
	if !ed25519.Verify(key, Message(topic, sc.Seq, sc.AtUnixMs, sc.Command), sc.Signature) {
		return nil, sc.Seq, fmt.Errorf("%w (seq %d on %s)", ErrBadSignature, sc.Seq, topic)
	}
	at := time.UnixMilli(sc.AtUnixMs)
	now := v.now()
	switch {
	case now.Sub(at) > MaxAge:
		return nil, sc.Seq, fmt.Errorf("%w: signed %s ago (limit %s)", ErrStale, now.Sub(at).Round(time.Second), MaxAge)
	case at.Sub(now) > MaxAhead:
		return nil, sc.Seq, fmt.Errorf("%w: signed %s ahead of this terminal's clock", ErrFuture, at.Sub(now).Round(time.Second))
	}
	var cmd dalabapb.Command
	if err := proto.Unmarshal(sc.Command, &cmd); err != nil {
		// Signed by the controller yet unreadable: a newer schema or a bug, not an attack.
		return nil, sc.Seq, fmt.Errorf("signed command does not decode: %w", err)
	}
	if err := v.accept(sc.Seq, at, now); err != nil {
		return nil, sc.Seq, err
	}
	return &cmd, sc.Seq, nil
}

func (v *Verifier) accept(seq uint64, at, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if seq <= v.floor {
		return fmt.Errorf("%w: seq %d at or below %d, the last accepted before restart", ErrReplayed, seq, v.floor)
	}
	if _, dup := v.seen[seq]; dup {
		return fmt.Errorf("%w: seq %d", ErrReplayed, seq)
	}
	for s, t := range v.seen {
		if now.Sub(t) > MaxAge {
			delete(v.seen, s)
		}
	}
	v.seen[seq] = at
	v.high = max(v.high, seq)
	return nil
}

// High is the highest sequence number accepted: persist it, and pass it as the floor after
// a restart.
func (v *Verifier) High() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.high
}
