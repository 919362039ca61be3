package broker

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"dalaba/proto/pahostore"
)

// External is the controller as a client of an external broker such as Mosquitto or EMQX.
type External struct {
	client paho.Client
	addr   string

	mu   sync.Mutex
	subs map[string]subscription // re-made on every connect
}

type subscription struct {
	qos byte
	h   Handler
}

// ConnectExternal connects to brokerURL (tcp://host:port or mqtt://host:port; tls://, ssl:// or
// mqtts://host:port over TLS, trusting tlsConfig's roots, or the system's when nil) with a
// persistent session, so receipts published while the controller was away are delivered
// when it returns.
func ConnectExternal(brokerURL, clientID string, tlsConfig *tls.Config, log *slog.Logger) (*External, error) {
	u, err := url.Parse(brokerURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("broker URL %q: want tcp://host:port or tls://host:port", brokerURL)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		u.Scheme = "tcp"
	case "tls", "ssl", "mqtts":
		u.Scheme = "tls"
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	default:
		return nil, fmt.Errorf("broker URL %q: scheme %q: want tcp, mqtt, tls, ssl or mqtts", brokerURL, u.Scheme)
	}
	e := &External{addr: u.Host, subs: make(map[string]subscription)}
	opts := paho.NewClientOptions().
		AddBroker(u.String()).
		SetClientID(clientID).
		SetCleanSession(false).
		SetStore(pahostore.New()).
		SetAutoReconnect(true).
		SetConnectRetry(false).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false). // handlers only enqueue; do not serialise them behind one another
		SetOnConnectHandler(func(c paho.Client) {
			e.mu.Lock()
			defer e.mu.Unlock()
			for filter, s := range e.subs {
				e.subscribe(filter, s)
			}
			log.Info("connected to external broker", "broker", u.Host)
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			log.Warn("lost external broker", "broker", u.Host, "err", err)
		})
	if u.Scheme == "tls" {
		opts.SetTLSConfig(tlsConfig)
	}
	if u.User != nil {
		opts.SetUsername(u.User.Username())
		if p, ok := u.User.Password(); ok {
			opts.SetPassword(p)
		}
	}
	e.client = paho.NewClient(opts)
	tok := e.client.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect to broker %s: timed out", u.Host)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect to broker %s: %w", u.Host, err)
	}
	return e, nil
}

func (e *External) subscribe(filter string, s subscription) paho.Token {
	return e.client.Subscribe(filter, s.qos, func(_ paho.Client, m paho.Message) {
		s.h(m.Topic(), m.Payload())
	})
}

func (e *External) Publish(topic string, payload []byte, qos byte, retain bool) error {
	tok := e.client.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("publish %s: timed out", topic)
	}
	return tok.Error()
}

func (e *External) Subscribe(filter string, qos byte, h Handler) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := subscription{qos: qos, h: h}
	e.subs[filter] = s
	tok := e.subscribe(filter, s)
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("subscribe %s: timed out", filter)
	}
	return tok.Error()
}

func (e *External) Addr() string { return e.addr }

func (e *External) Close() error {
	e.client.Disconnect(250)
	return nil
}
