package broker

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"dalaba/proto/wire"
)

// Embedded is an in-process mochi-mqtt broker; the controller publishes and subscribes
// through mochi's inline client, so its own messages never touch a socket.
type Embedded struct {
	server *mqtt.Server
	acl    *aclHook // nil: an open broker
	addr   string
	subID  atomic.Int32
	closed chan struct{}
	once   sync.Once
}

// EmbeddedOptions tunes the embedded broker.
type EmbeddedOptions struct {
	Addr string // host:port to listen on; port 0 picks a free one
	// WritesPending bounds each client's outbound queue. mochi's default (8192) costs about
	// 160 KiB per client; a terminal never has more than a few commands in flight.
	WritesPending int32
	Logger        *slog.Logger
	// Authority, when set, authenticates every connection as a terminal and holds it to its
	// own topics (acl.go). Nil lets anyone connect and use any topic.
	Authority Authority
	// TLS, when set, serves MQTT over TLS only; nil serves plain TCP.
	TLS *tls.Config
}

// StartEmbedded starts the broker listening on opts.Addr.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.WritesPending == 0 {
		opts.WritesPending = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = opts.WritesPending
	s := mqtt.New(&mqtt.Options{
		InlineClient: true,
		Capabilities: caps,
		Logger:       opts.Logger.With("component", "mqtt"),
	})
	var hook mqtt.Hook = new(auth.AllowHook)
	var acl *aclHook
	if opts.Authority != nil {
		acl = &aclHook{auth: opts.Authority, log: opts.Logger.With("component", "mqtt-acl"),
			clients: map[string]Identity{}, refused: map[string]int64{}}
		hook = acl
	}
	if err := s.AddHook(hook, nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	// Bind first so a busy port is a start-up error, and port 0 resolves to a real port.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen %s: %w", opts.Addr, err)
	}
	addr := ln.Addr().String()
	if opts.TLS != nil {
		ln = listenTLS(ln, opts.TLS, connectTimeout, opts.Logger.With("component", "mqtt"))
	}
	tcp := listeners.NewNet("tcp", ln)
	if err := s.AddListener(tcp); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := s.Serve(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: serve: %w", err)
	}
	return &Embedded{server: s, acl: acl, addr: addr, closed: make(chan struct{})}, nil
}

func (e *Embedded) Publish(topic string, payload []byte, qos byte, retain bool) error {
	return e.server.Publish(topic, payload, retain, qos)
}

// Subscribe hands matching messages to h on one goroutine of the subscription's own. mochi
// calls inline handlers on the publishing client's goroutine: doing the work there would grow
// the stacks of ten thousand client goroutines (hundreds of MB) and let them contend for the
// controller's locks. A full queue holds the publisher back, so nothing is dropped.
func (e *Embedded) Subscribe(filter string, qos byte, h Handler) error {
	id := int(e.subID.Add(1))
	queue := make(chan packets.Packet, inlineQueue)
	go func() {
		for {
			select {
			case pk := <-queue:
				h(pk.TopicName, pk.Payload)
			case <-e.closed:
				return
			}
		}
	}()
	return e.server.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		select {
		case queue <- pk:
		case <-e.closed:
		}
	})
}

// inlineQueue is how many messages one subscription may have waiting for its handler.
const inlineQueue = 4096

func (e *Embedded) Addr() string { return e.addr }

// Server exposes mochi for hooks (authentication, ACLs) and statistics.
func (e *Embedded) Server() *mqtt.Server { return e.server }

// CutOff disconnects a terminal whose credentials were revoked: its connection closes now
// (its Last Will goes out) and it is refused when it tries again.
func (e *Embedded) CutOff(terminal string) {
	if e.acl == nil {
		return
	}
	e.acl.forget(terminal)
	if cl, ok := e.server.Clients.Get(wire.ClientID(terminal)); ok && !cl.Closed() {
		e.server.DisconnectClient(cl, packets.ErrNotAuthorized)
		e.acl.log.Warn("mqtt client cut off: credentials revoked", "terminal", terminal, "remote", cl.Net.Remote)
	}
}

// Refusals counts what the ACL refused: connect, subscribe, publish. Empty on an open broker.
func (e *Embedded) Refusals() map[string]int64 {
	if e.acl == nil {
		return map[string]int64{}
	}
	return e.acl.refusals()
}

func (e *Embedded) Close() error {
	err := e.server.Close()
	e.once.Do(func() { close(e.closed) })
	return err
}
