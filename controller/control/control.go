// Package control operates terminals remotely: set volume, check the clock, run a self-test.
// Send publishes a ControlCommand on the terminal's own topic and waits for the ControlReply
// that carries its request id.
package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// Errors Send returns besides *InputError and *TerminalError.
var (
	ErrUnknownTerminal = errors.New("unknown terminal")
	ErrOffline         = errors.New("terminal offline")
	ErrTimeout         = errors.New("no reply from the terminal in time")
)

// DefaultTimeout bounds the wait for a reply when ctx has no deadline. A self-test waits for
// any broadcast playing on the terminal to end, so callers of one may want longer.
const DefaultTimeout = 10 * time.Second

// Sender publishes a command, signed, on the command topic of an address (controller/commands).
type Sender interface {
	Send(to wire.Address, cmd *dalabapb.Command, qos byte) error
}

// Remote sends control commands and matches the replies.
type Remote struct {
	send   Sender
	known  func(id string) bool
	online func(id string) bool
	log    *slog.Logger

	mu      sync.Mutex
	waiting map[string]waiter // request id -> its caller
}

// maxUnixMs is 9999-12-31T23:59:59.999Z, the last instant JSON can carry.
const maxUnixMs = 253402300799999

// waiter is a command waiting for its reply: only the terminal it went to may answer it.
type waiter struct {
	terminal string
	answer   chan *dalabapb.ControlReply
}

// New makes a Remote that sends through send; known says whether a terminal is in the
// inventory, online whether it is online now.
func New(send Sender, known, online func(string) bool, log *slog.Logger) *Remote {
	return &Remote{send: send, known: known, online: online, log: log, waiting: map[string]waiter{}}
}

// Result is a terminal's reply and when it was sent and answered.
type Result struct {
	Reply          *dalabapb.ControlReply
	Sent, Received time.Time
}

// RoundTrip is from publishing the command to taking the reply.
func (r Result) RoundTrip() time.Duration { return r.Received.Sub(r.Sent) }

// ClockOffset estimates the terminal's clock minus the controller's, as NTP does: the time the
// terminal stamped on its reply against the middle of the round trip, which cancels the
// transit time when it is the same both ways. It is good to about half the round trip.
func (r Result) ClockOffset() time.Duration {
	mid := r.Sent.Add(r.RoundTrip() / 2)
	return time.UnixMilli(r.Reply.GetAtUnixMs()).Sub(mid).Round(time.Millisecond)
}

// Send operates terminal id and waits for its reply, until ctx ends or DefaultTimeout passes
// if ctx has no deadline. A reply that says the terminal failed is a *TerminalError, returned
// with the Result.
func (rm *Remote) Send(ctx context.Context, id string, cmd *dalabapb.ControlCommand) (Result, error) {
	if err := Validate(cmd); err != nil {
		return Result{}, err
	}
	if !rm.known(id) {
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownTerminal, id)
	}
	if !rm.online(id) {
		return Result{}, fmt.Errorf("%w: %s", ErrOffline, id)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	cmd = proto.CloneOf(cmd)
	cmd.RequestId = newRequestID()
	answer := make(chan *dalabapb.ControlReply, 1)
	rm.mu.Lock()
	rm.waiting[cmd.RequestId] = waiter{terminal: id, answer: answer}
	rm.mu.Unlock()
	defer func() {
		rm.mu.Lock()
		delete(rm.waiting, cmd.RequestId)
		rm.mu.Unlock()
	}()

	sent := time.Now()
	if cc := cmd.GetClockCheck(); cc != nil {
		cc.ControllerUnixMs = sent.UnixMilli()
	}
	// QoS 0: a command is only worth carrying out while someone waits for its answer. At QoS 1
	// the broker would queue it for a terminal that just dropped, to act long after the caller
	// was told it failed.
	to := wire.Address{Tier: wire.TierTerminal, Code: id}
	if err := rm.send.Send(to, &dalabapb.Command{Body: &dalabapb.Command_Control{Control: cmd}}, 0); err != nil {
		return Result{}, fmt.Errorf("publish control command to %s: %w", id, err)
	}
	log := rm.log.With("terminal", id, "request", cmd.RequestId, "op", opName(cmd))
	select {
	case r := <-answer:
		res := Result{Reply: r, Sent: sent, Received: time.Now()}
		log.Info("control reply", "ok", r.GetOk(), "error", r.GetError(), "round_trip", res.RoundTrip())
		if !r.GetOk() {
			return res, &TerminalError{Terminal: id, Message: r.GetError()}
		}
		return res, nil
	case <-ctx.Done():
		log.Warn("control command unanswered", "waited", time.Since(sent), "err", ctx.Err())
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{}, fmt.Errorf("%w: %s after %v", ErrTimeout, id, time.Since(sent).Round(time.Millisecond))
		}
		return Result{}, ctx.Err()
	}
}

// Deliver takes a reply published on the reply topic of terminal from.
func (rm *Remote) Deliver(from string, payload []byte) error {
	var r dalabapb.ControlReply
	if err := proto.Unmarshal(payload, &r); err != nil {
		return fmt.Errorf("malformed control reply: %w", err)
	}
	if r.GetTerminalId() != from || r.GetRequestId() == "" {
		return fmt.Errorf("malformed control reply: terminal %q on the topic of %q, request %q", r.GetTerminalId(), from, r.GetRequestId())
	}
	// The reply's time is shown over the API: JSON carries years 0 to 9999 only.
	if at := r.GetAtUnixMs(); at < 0 || at > maxUnixMs {
		return fmt.Errorf("malformed control reply %s from %s: time %d ms", r.GetRequestId(), from, at)
	}
	rm.mu.Lock()
	w, ok := rm.waiting[r.GetRequestId()]
	if ok && w.terminal == from {
		delete(rm.waiting, r.GetRequestId())
	}
	rm.mu.Unlock()
	if !ok {
		return fmt.Errorf("control reply %s from %s: nobody waits for it (late, or not ours)", r.GetRequestId(), from)
	}
	if w.terminal != from {
		return fmt.Errorf("control reply %s from %s: the command went to %s", r.GetRequestId(), from, w.terminal)
	}
	w.answer <- &r
	return nil
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}
