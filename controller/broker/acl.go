package broker

import (
	"bytes"
	"log/slog"
	"maps"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"dalaba/proto/wire"
)

// Authority says who may connect to the embedded broker: it returns the identity a set of
// credentials proves, or false.
type Authority interface {
	Authenticate(username string, password []byte) (Identity, bool)
}

// Identity is one terminal's standing on the broker: the command topics of its own four tiers
// to read, and its own report topics to write. Nothing else.
type Identity struct {
	Terminal  string
	Addresses []wire.Address // its town, village, group and terminal addresses
}

func (id Identity) mayRead(topic string) bool {
	for _, a := range id.Addresses {
		if topic == wire.CommandTopic(a) {
			return true
		}
	}
	return false
}

func (id Identity) mayWrite(topic string) bool {
	t := id.Terminal
	switch topic {
	case wire.ReceiptTopic(t), wire.StatusTopic(t), wire.TelemetryTopic(t), wire.EventTopic(t), wire.ReplyTopic(t),
		wire.RejectedTopic(t): // the commands it refused (terminal-agent/verify.go)
		return true
	}
	return false
}

// aclHook authenticates every MQTT connection as a terminal and holds it to its own topics:
// a terminal must connect with its own id as username and wire.ClientID of it as client id, may subscribe only to
// its tier topics and publish only its own reports. Refusals are logged and counted. The
// controller's own messages use mochi's inline client, which no hook sees.
type aclHook struct {
	mqtt.HookBase
	auth Authority
	log  *slog.Logger

	mu sync.Mutex
	// clients maps client id to identity. The client id is the terminal id, so this holds at
	// most one entry per terminal and needs no cleanup on disconnect.
	clients map[string]Identity
	refused map[string]int64 // by what was refused: connect, subscribe, publish
}

func (h *aclHook) ID() string { return "dalaba-acl" }

func (h *aclHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

func (h *aclHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	id, ok := h.auth.Authenticate(user, pk.Connect.Password)
	if !ok || id.Terminal != user || cl.ID != wire.ClientID(user) {
		h.count("connect")
		h.log.Warn("mqtt connection refused", "client", cl.ID, "username", user, "remote", cl.Net.Remote,
			"why", refusal(ok, id, user, cl.ID))
		return false
	}
	h.mu.Lock()
	h.clients[cl.ID] = id
	h.mu.Unlock()
	return true
}

func (h *aclHook) count(what string) {
	h.mu.Lock()
	h.refused[what]++
	h.mu.Unlock()
}

// forget drops a terminal's standing: from now on every check for its client fails, even
// before the connection is closed.
func (h *aclHook) forget(terminal string) {
	h.mu.Lock()
	delete(h.clients, wire.ClientID(terminal))
	h.mu.Unlock()
}

func (h *aclHook) refusals() map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.refused)
}

func refusal(ok bool, id Identity, user, clientID string) string {
	switch {
	case !ok:
		return "bad credentials"
	case id.Terminal != user:
		return "username is not the terminal the credentials belong to"
	}
	return "client id " + clientID + " is not " + wire.ClientID(user)
}

func (h *aclHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	h.mu.Lock()
	id, ok := h.clients[cl.ID]
	h.mu.Unlock()
	allowed := ok && ((write && id.mayWrite(topic)) || (!write && id.mayRead(topic)))
	if !allowed {
		op := "subscribe"
		if write {
			op = "publish"
		}
		h.count(op)
		h.log.Warn("mqtt "+op+" refused", "client", cl.ID, "topic", topic, "remote", cl.Net.Remote)
	}
	return allowed
}
