package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/pahostore"
	"dalaba/proto/wire"
)

// session is the agent's MQTT connection: a persistent session (commands published while the
// terminal is away are queued by the broker), its tier subscriptions re-made on every connect,
// and a retained Last Will that tells the controller it is offline.
type session struct {
	client paho.Client
	id     string
	log    *slog.Logger
	now    func() time.Time // the agent's clock, for the times reports carry
	intake *intake          // verifies every command before it is acted on (verify.go)
	// onControl takes control commands and onConnect runs after every (re)connect; both are
	// set before connect (manage.go).
	onControl func(*dalabapb.ControlCommand)
	onConnect func()
}

func newSession(opts Options, now func() time.Time) *session {
	return &session{id: opts.TerminalID, log: opts.Logger, now: now}
}

// connect starts the session; verified commands go to onCommand from then on.
func (s *session) connect(ctx context.Context, opts Options, onCommand func(*dalabapb.Command)) error {
	will, err := statusPayload(opts.TerminalID, false, s.now())
	if err != nil {
		return err
	}
	filters := map[string]byte{}
	for _, a := range opts.addresses() {
		filters[wire.CommandTopic(a)] = 1
	}
	onMessage := func(_ paho.Client, m paho.Message) {
		cmd, ok := s.intake.open(m.Topic(), m.Payload())
		if !ok {
			return // refused and reported
		}
		if c := cmd.GetControl(); c != nil {
			s.control(m.Topic(), c)
			return
		}
		onCommand(cmd)
	}
	mo := paho.NewClientOptions().
		AddBroker(opts.BrokerURL).
		SetClientID(wire.ClientID(opts.TerminalID)).
		SetCleanSession(false).
		SetStore(pahostore.New()).
		SetAutoReconnect(true).
		SetConnectRetry(true). // the controller may start after its terminals
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5*time.Second).
		SetKeepAlive(30*time.Second).
		SetBinaryWill(wire.StatusTopic(opts.TerminalID), will, 1, true).
		SetOnConnectHandler(func(c paho.Client) {
			// Subscriptions are made here, so they are back after every reconnect.
			if tok := c.SubscribeMultiple(filters, onMessage); tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
				s.log.Error("subscribe", "err", tok.Error())
			}
			s.publishStatus(true)
			if s.onConnect != nil {
				s.onConnect()
			}
			s.log.Debug("connected", "broker", opts.BrokerURL)
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.log.Warn("lost broker", "err", err)
		})
	if opts.Token != "" {
		mo.SetUsername(opts.TerminalID).SetPassword(opts.Token)
	}
	if opts.TLS != nil {
		mo.SetTLSConfig(opts.TLS)
	}
	s.client = paho.NewClient(mo)
	tok := s.client.Connect() // with ConnectRetry this returns at once and keeps trying
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("connect to broker %s: %w", opts.BrokerURL, err)
		}
	case <-ctx.Done():
		s.client.Disconnect(0)
		return ctx.Err()
	case <-time.After(100 * time.Millisecond):
	}
	return nil
}

func statusPayload(id string, online bool, at time.Time) ([]byte, error) {
	return proto.Marshal(&dalabapb.Status{TerminalId: id, Online: online, AtUnixMs: at.UnixMilli(), AgentVersion: Version})
}

func (s *session) publishStatus(online bool) paho.Token {
	b, err := statusPayload(s.id, online, s.now())
	if err != nil {
		s.log.Error("encode status", "err", err)
		return nil
	}
	return s.client.Publish(wire.StatusTopic(s.id), 1, true, b)
}

// receipt publishes one receipt with QoS 1; paho keeps it while the link is down.
func (s *session) receipt(r *dalabapb.Receipt) {
	r.TerminalId, r.AtUnixMs = s.id, s.now().UnixMilli()
	b, err := proto.Marshal(r)
	if err != nil {
		s.log.Error("encode receipt", "broadcast", r.BroadcastId, "err", err)
		return
	}
	s.client.Publish(wire.ReceiptTopic(s.id), 1, false, b)
}

// close says goodbye (offline, retained) and disconnects.
func (s *session) close(timeout time.Duration) {
	if s.client.IsConnectionOpen() {
		if tok := s.publishStatus(false); tok != nil {
			tok.WaitTimeout(timeout)
		}
	}
	s.client.Disconnect(uint(timeout / time.Millisecond))
}
