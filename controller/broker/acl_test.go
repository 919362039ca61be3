package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"dalaba/proto/wire"
)

type tokens map[string]string // terminal -> password

func (t tokens) Authenticate(user string, password []byte) (Identity, bool) {
	if p, ok := t[user]; !ok || p != string(password) {
		return Identity{}, false
	}
	group := map[string]string{"t001": "361126104201001", "t002": "361126104202001"}[user]
	return Identity{Terminal: user, Addresses: []wire.Address{
		{Tier: wire.TierTown, Code: group[:9]}, {Tier: wire.TierVillage, Code: group[:12]},
		{Tier: wire.TierGroup, Code: group}, {Tier: wire.TierTerminal, Code: user}}}, true
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startACLBroker(t *testing.T) (*Embedded, *syncBuffer) {
	t.Helper()
	var log syncBuffer
	b, err := StartEmbedded(EmbeddedOptions{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Authority: tokens{"t001": "secret-1", "t002": "secret-2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, &log
}

func dial(t *testing.T, b *Embedded, clientID, user, pass string) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID(clientID).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("connect timed out")
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(0) })
	}
	return c, tok.Error()
}

func TestACLRefusesStrangersAndImpersonation(t *testing.T) {
	b, log := startACLBroker(t)
	for _, c := range []struct{ name, client, user, pass string }{
		{"no credentials", "dalaba-t001", "", ""},
		{"wrong password", "dalaba-t001", "t001", "guess"},
		{"another terminal's password", "dalaba-t001", "t001", "secret-2"},
		{"client id of another terminal", "dalaba-t002", "t001", "secret-1"},
		{"bare terminal id as client id", "t001", "t001", "secret-1"},
		{"unknown terminal", "dalaba-t999", "t999", "secret-1"},
	} {
		if _, err := dial(t, b, c.client, c.user, c.pass); err == nil {
			t.Errorf("%s: connected", c.name)
		}
	}
	if !strings.Contains(log.String(), "mqtt connection refused") {
		t.Errorf("refusals not logged:\n%s", log.String())
	}
	if _, err := dial(t, b, "dalaba-t001", "t001", "secret-1"); err != nil {
		t.Errorf("genuine terminal refused: %v", err)
	}
}

func TestACLHoldsATerminalToItsTopics(t *testing.T) {
	b, log := startACLBroker(t)
	got := make(chan string, 16)
	if err := b.Subscribe(wire.ReceiptFilter, 1, func(topic string, _ []byte) { got <- topic }); err != nil {
		t.Fatal(err)
	}
	c, err := dial(t, b, "dalaba-t001", "t001", "secret-1")
	if err != nil {
		t.Fatal(err)
	}
	own := wire.CommandTopic(wire.Address{Tier: wire.TierVillage, Code: "361126104201"})
	other := wire.CommandTopic(wire.Address{Tier: wire.TierVillage, Code: "361126104202"})
	for topic, want := range map[string]byte{own: 1, other: 0x80, "dalaba/v1/cmd/#": 0x80, "#": 0x80,
		wire.ReceiptFilter: 0x80} {
		tok := c.Subscribe(topic, 1, func(paho.Client, paho.Message) {})
		tok.Wait()
		if code := tok.(*paho.SubscribeToken).Result()[topic]; code != want {
			t.Errorf("subscribe %s: code %#x, want %#x", topic, code, want)
		}
	}
	// Publishing as another terminal, or a command, reaches no one, and mochi drops an MQTT
	// 3.1.1 client that tries (QoS 1); its own receipt, from a fresh connection, does arrive.
	for _, topic := range []string{wire.ReceiptTopic("t002"), own, wire.StatusTopic("t002")} {
		c, err := dial(t, b, "dalaba-t001", "t001", "secret-1")
		if err != nil {
			t.Fatal(err)
		}
		c.Publish(topic, 1, false, []byte("x")).WaitTimeout(time.Second)
		deadline := time.Now().Add(3 * time.Second)
		for c.IsConnectionOpen() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if c.IsConnectionOpen() {
			t.Errorf("publish to %s: the client is still connected", topic)
		}
	}
	c, err = dial(t, b, "dalaba-t001", "t001", "secret-1")
	if err != nil {
		t.Fatal(err)
	}
	c.Publish(wire.ReceiptTopic("t001"), 1, false, []byte("x")).WaitTimeout(2 * time.Second)
	select {
	case topic := <-got:
		if topic != wire.ReceiptTopic("t001") {
			t.Errorf("a refused publish arrived on %s", topic)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the terminal's own receipt never arrived")
	}
	select {
	case topic := <-got:
		t.Errorf("a second message arrived on %s", topic)
	case <-time.After(200 * time.Millisecond):
	}
	for _, want := range []string{"mqtt subscribe refused", "mqtt publish refused", "topic=dalaba/v1/receipt/t002"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}
