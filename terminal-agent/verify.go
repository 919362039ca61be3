package agent

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/signing"
	"dalaba/proto/wire"
)

// The agent acts only on commands the controller signed (proto/signing): every payload on a
// command topic goes through intake.open first. A refused command is logged, reported on the
// terminal's rejected topic and dropped, whatever it says.

// ReadControllerKeys reads the controller's public keys from a PEM file: one or more "PUBLIC
// KEY" blocks (the controller's signing.pub; more than one while a key is being replaced).
func ReadControllerKeys(path string) ([]ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("controller key: %w", err)
	}
	var keys []ed25519.PublicKey
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("controller key %s: a PEM %q block, want \"PUBLIC KEY\"", path, block.Type)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("controller key %s: %w", path, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("controller key %s: a %T, want Ed25519", path, k)
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("controller key %s: no PEM \"PUBLIC KEY\" in it (the controller writes it to <data>/signing.pub)", path)
	}
	return keys, nil
}

// Reports of refused commands: rejectBurst at once, then one per rejectEvery. One forged
// command on a town topic reaches every terminal of the town, and each reports it; a flood of
// them must not become a flood of reports from every terminal.
const (
	rejectBurst = 10
	rejectEvery = 6 * time.Second
)

// intake verifies commands before the agent acts on them.
type intake struct {
	verifier *signing.Verifier
	floor    *floorFile // nil: the floor is kept in memory only
	report   func(*dalabapb.CommandRejected)
	log      *slog.Logger

	limit      *rate.Limiter
	suppressed atomic.Uint32 // refusals not reported since the last report
}

// newIntake trusts keys; the controller's clock is now. With stateDir, the highest sequence
// number accepted survives a restart.
func newIntake(keys []ed25519.PublicKey, stateDir string, now func() time.Time, report func(*dalabapb.CommandRejected), log *slog.Logger) (*intake, error) {
	in := &intake{report: report, log: log, limit: rate.NewLimiter(rate.Every(rejectEvery), rejectBurst)}
	var floor uint64
	if stateDir == "" {
		log.Info("no state directory: the highest command accepted is kept in memory only, so after a restart this terminal would accept again a command it took in the last 24 h")
	} else {
		f, n, err := openFloor(stateDir, log)
		if err != nil {
			return nil, err
		}
		in.floor, floor = f, n
	}
	v, err := signing.NewVerifier(keys, now, floor)
	if err != nil {
		return nil, err
	}
	in.verifier = v
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = signing.KeyID(k)
	}
	log.Info("commands verified", "controller_keys", ids, "floor", floor)
	return in, nil
}

// open returns the command in a payload that came on topic, or false if it is refused. The
// floor is raised on disk before the command is acted on: a copy delivered again after a
// crash is then refused, and the controller's redelivery (signed anew) brings it back.
func (in *intake) open(topic string, payload []byte) (*dalabapb.Command, bool) {
	cmd, seq, err := in.verifier.Open(topic, payload)
	if err != nil {
		in.refuse(topic, payload, seq, err)
		return nil, false
	}
	if in.floor != nil {
		if err := in.floor.raise(in.verifier.High()); err != nil {
			// Acting matters more than the record: the horn may carry an emergency.
			in.log.Error("command accepted, but its sequence number was not saved: after a restart this command could be replayed", "seq", seq, "err", err)
		}
	}
	return cmd, true
}

func (in *intake) refuse(topic string, payload []byte, seq uint64, err error) {
	reason := rejectReason(err)
	var sc dalabapb.SignedCommand
	proto.Unmarshal(payload, &sc) // only for the key id it claims; the error was err
	in.log.Warn("refused command", "reason", wire.RejectReasonName(reason), "topic", topic, "seq", seq, "err", err)
	if !in.limit.Allow() {
		in.suppressed.Add(1)
		return
	}
	in.report(&dalabapb.CommandRejected{Reason: reason, Topic: topic, Seq: seq, KeyId: sc.GetKeyId(),
		Detail: err.Error(), Suppressed: in.suppressed.Swap(0)})
}

func rejectReason(err error) dalabapb.RejectReason {
	switch {
	case errors.Is(err, signing.ErrUnsigned):
		return dalabapb.RejectReason_REJECT_REASON_UNSIGNED
	case errors.Is(err, signing.ErrBadSignature):
		return dalabapb.RejectReason_REJECT_REASON_FORGED
	case errors.Is(err, signing.ErrUnknownKey):
		return dalabapb.RejectReason_REJECT_REASON_UNKNOWN_KEY
	case errors.Is(err, signing.ErrReplayed):
		return dalabapb.RejectReason_REJECT_REASON_REPLAYED
	case errors.Is(err, signing.ErrStale):
		return dalabapb.RejectReason_REJECT_REASON_STALE
	case errors.Is(err, signing.ErrFuture):
		return dalabapb.RejectReason_REJECT_REASON_FUTURE
	}
	return dalabapb.RejectReason_REJECT_REASON_UNREADABLE
}

// rejected reports a refused command with QoS 1: each one is kept as a record.
func (s *session) rejected(r *dalabapb.CommandRejected) {
	r.TerminalId, r.AtUnixMs = s.id, s.now().UnixMilli()
	s.publish(wire.RejectedTopic(s.id), 1, r, "rejection report")
}
