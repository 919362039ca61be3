// Package pahostore has the message store every paho MQTT client here uses (agents, and the
// controller on an external broker): paho's memory store, with one race fixed.
package pahostore

import (
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// New returns a memory store whose Get hands out a copy of a stored publish. On connect,
// paho's resume marks every stored publish as a duplicate in place, while its writer may be
// sending that same packet (a status published from the on-connect handler, a receipt): a data
// race the race detector finds (eclipse-paho/paho.mqtt.golang#703, open in v1.5.1). With a
// copy, the resend is marked and the packet on the wire is left alone.
func New() paho.Store { return resumeSafe{paho.NewMemoryStore()} }

type resumeSafe struct{ *paho.MemoryStore }

func (s resumeSafe) Get(key string) packets.ControlPacket {
	p := s.MemoryStore.Get(key)
	if pub, ok := p.(*packets.PublishPacket); ok {
		dup := *pub // the payload is shared: nobody writes to it
		return &dup
	}
	return p
}
