// Package commands is the only way the controller speaks to terminals: every command goes out
// as a SignedCommand (proto/signing), signed for the exact topic it is published on. Terminals
// act on nothing else, so a broker that others can publish to cannot make a horn speak.
package commands

import (
	"fmt"

	"dalaba/controller/broker"
	"dalaba/proto/dalabapb"
	"dalaba/proto/signing"
	"dalaba/proto/wire"
)

// Sender signs and publishes commands.
type Sender struct {
	bus    broker.Bus
	signer *signing.Signer
}

// New sends through bus, signing with signer.
func New(bus broker.Bus, signer *signing.Signer) *Sender {
	return &Sender{bus: bus, signer: signer}
}

// Send publishes cmd on the command topic of every terminal under to. Each call signs anew, so
// a command sent again (a redelivery) has a fresh sequence number: a terminal that took the
// first copy and crashed before acting refuses the first as a replay but takes the second.
func (s *Sender) Send(to wire.Address, cmd *dalabapb.Command, qos byte) error {
	topic := wire.CommandTopic(to)
	payload, err := s.signer.Sign(topic, cmd)
	if err != nil {
		return fmt.Errorf("sign command for %s: %w", topic, err)
	}
	return s.bus.Publish(topic, payload, qos, false)
}

// KeyID names the key commands are signed with.
func (s *Sender) KeyID() string { return s.signer.KeyID() }
