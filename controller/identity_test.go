package controller_test

// Terminal identity on the embedded broker and the audio service, attacked with real MQTT
// clients (mosquitto_pub and mosquitto_sub) and a raw gRPC client: TLS only, a token per
// terminal, each terminal held to its own topics, a revoked terminal cut off at once.

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"dalaba/controller"
	"dalaba/controller/live"
	"dalaba/proto/dalabapb"
	"dalaba/proto/provision"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink/alsatest"
)

// mqttClient runs mosquitto_pub or mosquitto_sub against c's broker over TLS (trusting its CA)
// as terminal id with token (none when empty), and returns the output and whether it succeeded.
func mqttClient(t *testing.T, c *controller.Controller, bin, id, token string, args ...string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("%s is not installed (apt-get install mosquitto-clients; make test installs it): %v", bin, err)
	}
	host, port, _ := net.SplitHostPort(c.MQTTAddr)
	all := []string{"-h", host, "-p", port, "--cafile", c.CAFile, "-i", wire.ClientID(id)}
	if token != "" {
		all = append(all, "-u", id, "-P", token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(all, args...)...).CombinedOutput()
	return string(out), err == nil
}

func TestBrokerRefusesMissingWrongAndRevokedTokens(t *testing.T) {
	c, logs := startReview(t, nil)
	own := bundleFor(t, c, "t001")
	other := bundleFor(t, c, "t013")
	topic := wire.ReceiptTopic("t001")
	for _, a := range []struct{ name, token string }{
		{"no token", ""},
		{"wrong token", strings.Repeat("A", 43)},
		{"another terminal's token", other.Token},
	} {
		if out, ok := mqttClient(t, c, "mosquitto_pub", "t001", a.token, "-q", "1", "-t", topic, "-m", "x"); ok {
			t.Errorf("%s: mosquitto_pub connected and published: %s", a.name, out)
		} else if !strings.Contains(out, "not authorised") {
			t.Errorf("%s: %s, want the broker's refusal (not authorised)", a.name, out)
		}
	}
	if out, ok := mqttClient(t, c, "mosquitto_pub", "t001", own.Token, "-q", "1", "-t", topic, "-m", "x"); !ok {
		t.Fatalf("the genuine terminal was refused: %s", out)
	}
	// Stolen, then revoked: worthless from then on, for the thief and the owner alike.
	if out, code := ebctl(t, c, "terminals", "revoke", "t001"); code != 0 || !strings.Contains(out, "已吊销") {
		t.Fatalf("ebctl terminals revoke: %d %s", code, out)
	}
	if out, ok := mqttClient(t, c, "mosquitto_sub", "t001", own.Token, "-t", wire.CommandTopic(wire.Address{Tier: wire.TierTerminal, Code: "t001"}), "-C", "1", "-W", "2"); ok || !strings.Contains(out, "not authorised") {
		t.Errorf("revoked token: mosquitto_sub %v: %s, want not authorised", ok, out)
	}
	if out, code := ebctl(t, c, "terminals", "revoke", "t001"); code == 0 || !strings.Contains(out, "没有有效凭据") {
		t.Errorf("revoking twice: %d %s, want a refusal saying it has no valid token", code, out)
	}
	if n := metric(t, c, `dalaba_access_refused_total{service="mqtt",what="connect"}`); n < 4 {
		t.Errorf("mqtt connect refusals counted: %v, want 4 or more", n)
	}
	if !strings.Contains(logs.String(), "mqtt connection refused") {
		t.Error("refused connections are not logged")
	}
}

func TestBrokerRefusesPlainTCPOnTheTLSPort(t *testing.T) {
	c, _ := startReview(t, nil)
	host, port, _ := net.SplitHostPort(c.MQTTAddr)
	tok := bundleFor(t, c, "t001").Token
	out, err := exec.Command("mosquitto_pub", "-h", host, "-p", port, "-i", wire.ClientID("t001"), "-u", "t001", "-P", tok,
		"-q", "1", "-t", wire.ReceiptTopic("t001"), "-m", "x").CombinedOutput()
	if err == nil {
		t.Fatalf("a plain-TCP client published on the TLS port: %s", out)
	}
	// A client that does not check the certificate still gets a TLS server, never a plain one.
	conn, err := tls.Dial("tcp", c.MQTTAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("the MQTT port does not speak TLS: %v", err)
	}
	conn.Close()
	// And one that does check refuses a server whose certificate our CA did not issue: the
	// system roots do not know the controller.
	if conn, err := tls.Dial("tcp", c.MQTTAddr, &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		conn.Close()
		t.Error("the broker's certificate verified against the system roots")
	}
}

func TestTerminalHeldToItsOwnTopics(t *testing.T) {
	c, logs := startReview(t, nil)
	tok := bundleFor(t, c, "t001").Token // t001: village 361126104201, group 361126104201001
	for _, topic := range []string{
		wire.CommandTopic(wire.Address{Tier: wire.TierTerminal, Code: "t013"}),
		wire.CommandTopic(wire.Address{Tier: wire.TierVillage, Code: village202}),
		wire.CommandTopic(wire.Address{Tier: wire.TierGroup, Code: "361126104201002"}), // a neighbour group, same village
		wire.ReceiptFilter,
		"#",
	} {
		// mosquitto_sub exits 0 once the broker answers, so its words are what counts.
		out, _ := mqttClient(t, c, "mosquitto_sub", "t001", tok, "-q", "1", "-t", topic, "-C", "1", "-W", "2")
		if !strings.Contains(out, "All subscription requests were denied") {
			t.Errorf("subscribe %s: %s, want the subscription denied", topic, out)
		}
	}
	out, _ := mqttClient(t, c, "mosquitto_sub", "t001", tok, "-q", "1", "-t",
		wire.CommandTopic(wire.Address{Tier: wire.TierVillage, Code: village201}), "-C", "1", "-W", "1")
	if strings.Contains(out, "denied") || strings.Contains(out, "not authorised") {
		t.Errorf("its own village topic was refused: %s", out)
	}
	// Publishing a receipt as t013, or a command: refused, and the broker drops the client.
	got := make(chan string, 8)
	if err := c.Bus.Subscribe(wire.ReceiptFilter, 1, func(topic string, _ []byte) { got <- topic }); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{wire.ReceiptTopic("t013"), wire.CommandTopic(wire.Address{Tier: wire.TierTown, Code: "361126104"})} {
		mqttClient(t, c, "mosquitto_pub", "t001", tok, "-q", "1", "-t", topic, "-m", "forged")
	}
	select {
	case topic := <-got:
		t.Errorf("a refused publish reached the controller on %s", topic)
	case <-time.After(500 * time.Millisecond):
	}
	for _, want := range []string{"mqtt subscribe refused", "mqtt publish refused", "topic=" + wire.ReceiptTopic("t013")} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if n := metric(t, c, `dalaba_access_refused_total{service="mqtt",what="subscribe"}`); n < 5 {
		t.Errorf("subscribe refusals counted: %v, want 5 or more", n)
	}
	if n := metric(t, c, `dalaba_access_refused_total{service="mqtt",what="publish"}`); n < 2 {
		t.Errorf("publish refusals counted: %v, want 2 or more", n)
	}
}

func TestRevokedTerminalIsCutOffWhileConnected(t *testing.T) {
	c := startController(t, "")
	a := startSimAgent(t, c, "t001", "361126104201001", time.Second)
	startSimAgent(t, c, "t002", "361126104201001", time.Second)
	revoked := time.Now()
	if out, code := ebctl(t, c, "terminals", "revoke", "t001"); code != 0 {
		t.Fatalf("ebctl terminals revoke: %d %s", code, out)
	}
	eventually(t, 3*time.Second, func() error {
		if c.Presence.Get("t001").Online {
			return fmt.Errorf("t001 still online %v after its revocation", time.Since(revoked))
		}
		return nil
	})
	// It keeps trying (every second or so) and is refused each time; its neighbour is unharmed.
	time.Sleep(3 * time.Second)
	if c.Presence.Get("t001").Online {
		t.Error("the revoked terminal came back online")
	}
	if !c.Presence.Get("t002").Online {
		t.Error("t002 went offline with t001's revocation")
	}
	if !strings.Contains(a.log.String(), "not Authorized") && !strings.Contains(a.log.String(), "lost broker") {
		t.Errorf("the agent did not notice being cut off:\n%s", tail([]byte(a.log.String()), 10))
	}
	// Provisioned anew, a terminal joins again with its new token.
	bs, err := c.Provision(context.Background(), []string{"t001"})
	if err != nil {
		t.Fatal(err)
	}
	a.stop()
	bundles.Store(bundleKey{c, "t001"}, bs[0])
	startSimAgent(t, c, "t001", "361126104201001", time.Second)
}

func TestAudioServiceChecksTokenAndTerminal(t *testing.T) {
	c, logs := startReview(t, nil)
	conn, err := grpc.NewClient(c.GRPCAddr, grpcCreds(t, c))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	audio := dalabapb.NewAudioServiceClient(conn)
	own, other := bundleFor(t, c, "t001"), bundleFor(t, c, "t013")
	as := func(id, token string) context.Context {
		ctx := context.Background()
		if id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, provision.TerminalKey, id, provision.TokenKey, token)
		}
		return ctx
	}
	clock := func(ctx context.Context) error {
		_, err := audio.Clock(ctx, &dalabapb.ClockRequest{ClientSendUnixUs: time.Now().UnixMicro()})
		return err
	}
	for name, ctx := range map[string]context.Context{
		"no token":                 as("", ""),
		"wrong token":              as("t001", strings.Repeat("A", 43)),
		"another terminal's token": as("t001", other.Token),
	} {
		if err := clock(ctx); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: clock %v, want Unauthenticated", name, err)
		}
	}
	if err := clock(as("t001", own.Token)); err != nil {
		t.Fatalf("the genuine terminal's clock probe: %v", err)
	}
	// Asking for audio in another terminal's name.
	s, err := audio.Fetch(as("t001", own.Token), &dalabapb.FetchRequest{ProgramId: "x", TerminalId: "t013"})
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("fetch as t013 with t001's token: %v, want PermissionDenied", err)
	}
	// Listening in on a live shout as another terminal.
	l, err := audio.Listen(as("t001", own.Token), &dalabapb.ListenRequest{LiveId: "x", TerminalId: "t013"})
	if err == nil {
		_, err = l.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("listen as t013 with t001's token: %v, want PermissionDenied", err)
	}
	if err := c.Revoke(context.Background(), "t001"); err != nil {
		t.Fatal(err)
	}
	if err := clock(as("t001", own.Token)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("revoked token: clock %v, want Unauthenticated", err)
	}
	// Plain gRPC on the TLS port does not get through.
	plain, err := grpc.NewClient(c.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx, cancel := context.WithTimeout(as("t013", other.Token), 3*time.Second)
	defer cancel()
	if _, err := dalabapb.NewAudioServiceClient(plain).Clock(ctx, &dalabapb.ClockRequest{}); err == nil {
		t.Error("a plain gRPC call was answered on the TLS port")
	}
	if n := metric(t, c, `dalaba_access_refused_total{service="grpc",what="unauthenticated"}`); n != 4 {
		t.Errorf("unauthenticated calls counted: %v, want 4", n)
	}
	if n := metric(t, c, `dalaba_access_refused_total{service="grpc",what="wrong_terminal"}`); n != 2 {
		t.Errorf("calls in another terminal's name counted: %v, want 2", n)
	}
	if !strings.Contains(logs.String(), "grpc call refused") {
		t.Error("refused calls are not logged")
	}
}

// A terminal revoked while it listens to a live shout is cut off at once, with a reason; its
// neighbour on the same shout hears on.
func TestRevokedTerminalsLiveStreamEnds(t *testing.T) {
	c := startController(t, "")
	ctx := context.Background()
	opened, err := c.Live.Open(ctx, live.OpenRequest{Title: "吊销测试喊话", By: "test",
		Targets: []wire.Address{{Tier: wire.TierGroup, Code: group201001}}})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(c.GRPCAddr, grpcCreds(t, c))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// listen counts the frames terminal id hears, and says how its stream ended.
	type listener struct {
		frames atomic.Int64
		ended  chan error
	}
	listen := func(id string) *listener {
		md := metadata.AppendToOutgoingContext(ctx, provision.TerminalKey, id, provision.TokenKey, bundleFor(t, c, id).Token)
		stream, err := dalabapb.NewAudioServiceClient(conn).Listen(md, &dalabapb.ListenRequest{LiveId: opened.ID, TerminalId: id})
		if err != nil {
			t.Fatal(err)
		}
		l := &listener{ended: make(chan error, 1)}
		go func() {
			for {
				f, err := stream.Recv()
				if err != nil {
					l.ended <- err
					return
				}
				l.frames.Add(int64(1 + len(f.MoreOpus)))
			}
		}()
		return l
	}
	t001, t002 := listen("t001"), listen("t002")
	speaking, stop := context.WithCancel(ctx)
	defer stop()
	spoke := make(chan error, 1)
	go func() {
		_, err := live.Speak(speaking, conn, opened, live.Speech{Source: bytes.NewReader(make([]byte, 10*wire.BytesPerSecond)), Paced: true})
		spoke <- err
	}()
	eventually(t, 3*time.Second, func() error {
		if n := t001.frames.Load(); n < 25 {
			return fmt.Errorf("t001 heard %d frames of the shout", n)
		}
		return nil
	})
	revoked := time.Now()
	if err := c.Revoke(ctx, "t001"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-t001.ended:
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(status.Convert(err).Message(), "revoked") {
			t.Fatalf("t001's stream after its revocation ended %v; want Unauthenticated, token revoked", err)
		}
		t.Logf("t001 cut off %v after the revocation", time.Since(revoked).Round(time.Millisecond))
	case <-time.After(2 * time.Second):
		t.Fatalf("t001 still hears the shout 2 s after its revocation (%d frames)", t001.frames.Load())
	}
	before := t002.frames.Load()
	time.Sleep(time.Second)
	if n := t002.frames.Load() - before; n < 40 {
		t.Errorf("t002 heard %d frames in the second after t001's revocation, want about 50", n)
	}
	select {
	case err := <-t002.ended:
		t.Errorf("t002's stream ended with t001's revocation: %v", err)
	default:
	}
	stop()
	if err := <-spoke; err != nil {
		t.Errorf("the speaker: %v", err)
	}
}

// The demo's --provision-sim: every terminal's bundle written at start, before the API answers,
// and a terminal joins with its bundle as written.
func TestProvisionDirHoldsAWorkingBundlePerTerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "provision")
	c := startControllerWith(t, "", func(o *controller.Options) { o.ProvisionDir = dir })
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != c.Inventory().Len() {
		t.Fatalf("%d bundles for %d terminals", len(files), c.Inventory().Len())
	}
	b, err := provision.Read(filepath.Join(dir, "t001.json"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Broker != "tls://"+c.MQTTAddr || b.GRPC != c.GRPCAddr || !strings.Contains(b.CA, "BEGIN CERTIFICATE") {
		t.Errorf("bundle %+v, want tls://%s, %s and the CA", b, c.MQTTAddr, c.GRPCAddr)
	}
	bundles.Store(bundleKey{c, "t001"}, b) // the agent uses the bundle as written
	startSimAgent(t, c, "t001", "361126104201001", time.Second)
}

// A terminal agent does not start without a token, nor with another terminal's bundle, nor
// (unless told it is a lab) without the controller's CA.
func TestAgentRefusesToStartWithoutItsCredentials(t *testing.T) {
	home, _ := alsatest.Home(t)
	data := t.TempDir()
	if _, err := controller.LoadSigningKey(data, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(data, controller.SigningPubKeyFile)
	other := filepath.Join(t.TempDir(), "t013.json")
	if err := provision.Write(other, provision.Bundle{Terminal: "t013", Token: strings.Repeat("A", 43), Broker: "tls://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	tokenFile := writeFile(t, "token", []byte(strings.Repeat("B", 43)+"\n"))
	base := []string{"--id", "t001", "--group", "361126104201001", "--controller-key", key, "--mqtt", "127.0.0.1:1"}
	for name, c := range map[string]struct {
		args []string
		says string
	}{
		"no token":                  {nil, "no token"},
		"another terminal's bundle": {[]string{"--provision", other}, "t013"},
		"a token but no CA":         {[]string{"--token-file", tokenFile}, "no CA"},
	} {
		cmd := exec.Command(filepath.Join(binDir, "terminal-agent"), append(base, c.args...)...)
		cmd.Env = alsatest.Env(home)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), c.says) {
			t.Errorf("%s: %v %q, want exit status 2 saying %q", name, err, out, c.says)
		}
	}
}
