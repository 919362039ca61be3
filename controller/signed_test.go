package controller_test

// Signed commands end to end. The attacker is not our code: the Mosquitto command-line clients
// (mosquitto_sub to eavesdrop, mosquitto_pub to inject), publishing straight to the terminals'
// command topics on the broker the terminals use, the embedded one or an external Mosquitto
// that lets anyone publish. No terminal may act on what they send; each refusal must reach
// the controller and show in GET /api/v1/events with its reason.

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/controller"
	"dalaba/controller/receipts"
	"dalaba/proto/dalabapb"
	"dalaba/proto/signing"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink/alsatest"
)

// attacker drives the Mosquitto clients against the broker at host:port.
type attacker struct {
	t          testing.TB
	host, port string
}

func newAttacker(t testing.TB, addr string) *attacker {
	t.Helper()
	for _, bin := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed (apt-get install mosquitto-clients; make test installs it): %v", bin, err)
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return &attacker{t: t, host: host, port: port}
}

// publish sends payload, byte for byte, to topic with QoS 1.
func (a *attacker) publish(topic string, payload []byte) {
	a.t.Helper()
	f := writeFile(a.t, "payload.bin", payload)
	out, err := exec.Command("mosquitto_pub", "-h", a.host, "-p", a.port, "-q", "1", "-t", topic, "-f", f).CombinedOutput()
	if err != nil {
		a.t.Fatalf("mosquitto_pub to %s: %v: %s", topic, err, out)
	}
}

const probeTopic = "attacker/probe"

// eavesdrop subscribes to topic with mosquitto_sub and returns a function that waits for the
// next message on it. It returns once the subscription is in place.
func (a *attacker) eavesdrop(topic string) func() []byte {
	a.t.Helper()
	cmd := exec.Command("mosquitto_sub", "-h", a.host, "-p", a.port, "-q", "1", "-F", "%t %x", "-t", probeTopic, "-t", topic)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		a.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("mosquitto_sub: %v", err)
	}
	a.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Subscribed once a probe comes back.
	deadline := time.After(10 * time.Second)
	for subscribed := false; !subscribed; {
		a.publish(probeTopic, []byte("ping"))
		select {
		case l := <-lines:
			subscribed = strings.HasPrefix(l, probeTopic+" ")
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			a.t.Fatal("mosquitto_sub never subscribed")
		}
	}
	return func() []byte {
		a.t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					a.t.Fatal("mosquitto_sub stopped")
				}
				if got, hexPayload, _ := strings.Cut(l, " "); got == topic {
					b, err := hex.DecodeString(hexPayload)
					if err != nil {
						a.t.Fatalf("mosquitto_sub line %q: %v", l, err)
					}
					return b
				}
			case <-timeout:
				a.t.Fatalf("nothing heard on %s", topic)
			}
		}
	}
}

// controllerKey is the controller's private signing key, read from its data directory: the
// tests use it to make genuinely signed commands that are too old or too new.
func controllerKey(t testing.TB, c *controller.Controller) ed25519.PrivateKey {
	t.Helper()
	k, err := controller.LoadSigningKey(filepath.Dir(c.CommandKeyFile), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signAs signs cmd for topic with key as if at instant at; keyID, when set, replaces the key id
// the envelope names (a forger claiming to be the controller).
func signAs(t testing.TB, key ed25519.PrivateKey, keyID string, at time.Time, topic string, cmd *dalabapb.Command) []byte {
	t.Helper()
	b, err := signing.NewSigner(key, func() time.Time { return at }).Sign(topic, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if keyID == "" {
		return b
	}
	var sc dalabapb.SignedCommand
	if err := proto.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	sc.KeyId = keyID
	b, _ = proto.Marshal(&sc)
	return b
}

// opened is the command inside a captured SignedCommand (signed, not encrypted: anyone on the
// broker can read it).
func opened(t testing.TB, payload []byte) *dalabapb.Command {
	t.Helper()
	var sc dalabapb.SignedCommand
	var cmd dalabapb.Command
	if err := proto.Unmarshal(payload, &sc); err != nil || sc.Signature == nil {
		t.Fatalf("captured payload is not a signed command: %v", err)
	}
	if err := proto.Unmarshal(sc.Command, &cmd); err != nil {
		t.Fatal(err)
	}
	return &cmd
}

// rejection is a command_rejected event as the API shows it.
type rejection struct {
	Reason, Detail, What string
}

// rejectionsOf lists terminal's command_rejected events from GET /api/v1/events.
func rejectionsOf(t testing.TB, c *controller.Controller, terminal string) []rejection {
	t.Helper()
	code, v := get(t, c, "/api/v1/events?limit=1000&terminal="+terminal)
	if code != 200 {
		t.Fatalf("events of %s: %d %v", terminal, code, v)
	}
	var out []rejection
	for _, e := range v.([]any) {
		ev := e.(map[string]any)
		if ev["kind"] != "command_rejected" {
			continue
		}
		detail, _ := ev["detail"].(string)
		what, _ := ev["what"].(string)
		reason, _, _ := strings.Cut(detail, ":")
		out = append(out, rejection{Reason: reason, Detail: detail, What: what})
	}
	return out
}

func countReasons(rs []rejection) map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		out[r.Reason]++
	}
	return out
}

// awaitRejections waits until terminal's rejection events count exactly want per reason.
func awaitRejections(t testing.TB, c *controller.Controller, terminal string, want map[string]int) []rejection {
	t.Helper()
	var got []rejection
	eventually(t, 20*time.Second, func() error {
		got = rejectionsOf(t, c, terminal)
		if n := countReasons(got); !maps.Equal(n, want) {
			return fmt.Errorf("%s: rejections %v, want %v", terminal, n, want)
		}
		return nil
	})
	return got
}

// The embedded broker refuses strangers (TestBrokerRefuses* in identity_test.go); here its
// ACL is off, as for a broker open to anyone, so that only the signatures stand in the way.
func TestAttacksOnTerminalTopicsEmbeddedBroker(t *testing.T) {
	attacksRefused(t, "")
}

func TestAttacksOnTerminalTopicsMosquitto(t *testing.T) {
	attacksRefused(t, startMosquitto(t))
}

func attacksRefused(t *testing.T, brokerURL string) {
	var c *controller.Controller
	if brokerURL == "" {
		c = startOpenController(t)
	} else {
		c = startController(t, brokerURL)
	}
	victim := startAgent(t, c, brokerURL, "t001", "361126104201001")
	neighbour := startAgent(t, c, brokerURL, "t013", "361126104202001")
	waitOnline(t, c, victim, neighbour)
	evil := newAttacker(t, c.MQTTAddr)

	own := wire.CommandTopic(wire.Address{Tier: wire.TierTerminal, Code: "t001"})
	ownVillage := wire.CommandTopic(wire.Address{Tier: wire.TierVillage, Code: village201})
	otherVillage := wire.CommandTopic(wire.Address{Tier: wire.TierVillage, Code: village202})
	otherTerminal := wire.CommandTopic(wire.Address{Tier: wire.TierTerminal, Code: "t013"})

	// A genuine broadcast, captured on the wire by the eavesdropper.
	next := evil.eavesdrop(own)
	tone := toneWAV(t, 1000, 500*time.Millisecond)
	first := send(t, c, "terminal:t001", "", tone)
	captured := next()
	awaitReceipt(t, c, first, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })

	// What the attacker wants played: the genuine command's program under a new broadcast id,
	// so that if any of these were accepted the tone would sound again.
	genuine := opened(t, captured).GetPlay()
	now := time.Now()
	play := func(name string) *dalabapb.Command {
		p := proto.CloneOf(genuine)
		p.BroadcastId, p.Title = "evil-"+name, "假警报"
		p.SentAtUnixMs, p.ValidUntilUnixMs, p.PlayAtUnixUs = now.UnixMilli(), now.Add(10*time.Minute).UnixMilli(), 0
		return &dalabapb.Command{Body: &dalabapb.Command_Play{Play: p}}
	}
	bare := func(cmd *dalabapb.Command) []byte { b, _ := proto.Marshal(cmd); return b }
	mute := &dalabapb.Command{Body: &dalabapb.Command_Control{Control: &dalabapb.ControlCommand{RequestId: "evil-mute",
		Op: &dalabapb.ControlCommand_SetVolume{SetVolume: &dalabapb.SetVolume{Volume: 0}}}}}
	stop := &dalabapb.Command{Body: &dalabapb.Command_Stop{Stop: &dalabapb.StopCommand{BroadcastId: "any"}}}
	_, mine, _ := ed25519.GenerateKey(rand.Reader)
	theirs := controllerKey(t, c)
	controllerID := signing.KeyID(c.CommandKey)

	attacks := []struct {
		name, topic string
		payload     []byte
	}{
		{"unsigned play on the terminal's topic", own, bare(play("unsigned"))},
		{"unsigned play on the village topic", ownVillage, bare(play("unsigned-village"))},
		{"unsigned volume 0", own, bare(mute)},
		{"unsigned stop", own, bare(stop)},
		{"forged: signed with another key, claiming the controller's", own, signAs(t, mine, controllerID, now, own, play("forged"))},
		{"signed with the attacker's own key", own, signAs(t, mine, "", now, own, play("own-key"))},
		{"replay of the captured genuine command", own, captured},
		{"the captured command moved to another village's topic", otherVillage, captured},
		{"the captured command moved to another terminal's topic", otherTerminal, captured},
		{"stale: genuinely signed 25 h ago (captured yesterday)", own, signAs(t, theirs, "", now.Add(-25*time.Hour), own, play("stale"))},
		{"future: genuinely signed 1 h ahead", own, signAs(t, theirs, "", now.Add(time.Hour), own, play("future"))},
	}
	for _, a := range attacks {
		evil.publish(a.topic, a.payload)
	}
	got := awaitRejections(t, c, "t001", map[string]int{"unsigned": 4, "forged": 1, "unknown_key": 1, "replayed": 1, "stale": 1, "future": 1})
	awaitRejections(t, c, "t013", map[string]int{"forged": 2})
	for _, r := range got {
		if !strings.Contains(r.Detail, own) && !strings.Contains(r.Detail, ownVillage) || !strings.HasPrefix(r.What, "拒绝执行命令：") {
			t.Errorf("rejection %+v: want the topic in the detail and a description for staff", r)
		}
	}
	for reason, n := range map[string]float64{"unsigned": 4, "forged": 3, "unknown_key": 1, "replayed": 1, "stale": 1, "future": 1} {
		if v := metric(t, c, `dalaba_commands_rejected_total{reason="`+reason+`"}`); v != n {
			t.Errorf("dalaba_commands_rejected_total{reason=%q} = %v, want %v", reason, v, n)
		}
	}

	// Genuine broadcasts still play, at the volume the attacker tried to mute.
	second := send(t, c, "terminal:t001,terminal:t013", "", tone)
	for _, id := range []string{"t001", "t013"} {
		awaitReceipt(t, c, second, id, func(r receipts.Receipt) bool { return r.State == receipts.Done })
	}
	sounds := heard(t, victim, neighbour)
	// A 1 kHz tone at 16 kHz is loud on 7/8 of its samples: 7000 in 0.5 s.
	for id, tones := range map[string]int{"t001": 2, "t013": 1} {
		h := sounds[id]
		if lo, hi := tones*6500, tones*7500; h.Loud < lo || h.Loud > hi || h.Peak < 0.45 || h.Peak > 0.55 {
			t.Errorf("%s heard %+v: want %d genuine 0.5 s tone(s) at full volume (%d..%d loud samples), nothing else", id, h, tones, lo, hi)
		}
	}
	for _, a := range []*agentProc{victim, neighbour} {
		if strings.Contains(a.log.String(), "evil-") {
			t.Errorf("agent %s acted on an attacker's command:\n%s", a.id, a.log)
		}
	}
}

// A terminal restarted (here: after a power cut mid-play) keeps refusing what it accepted
// before, from the floor it saved in its state directory; the controller's redelivery, signed
// anew, still brings it the broadcast it was cut off in.
func TestReplayAfterRestartRefused(t *testing.T) {
	c := startOpenController(t) // the attacker records and replays on a broker open to anyone
	state := filepath.Join(t.TempDir(), "state")
	a := startAgent(t, c, "", "t001", "361126104201001", "--state-dir", state)
	waitOnline(t, c, a)
	evil := newAttacker(t, c.MQTTAddr)
	own := wire.CommandTopic(wire.Address{Tier: wire.TierTerminal, Code: "t001"})
	next := evil.eavesdrop(own)

	first := send(t, c, "terminal:t001", "", toneWAV(t, 1000, 500*time.Millisecond))
	played := next()
	awaitReceipt(t, c, first, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })
	cut := send(t, c, "terminal:t001", "", toneWAV(t, 600, 2*time.Second))
	cutOff := next()
	awaitReceipt(t, c, cut, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	a.kill()
	awaitReceipt(t, c, cut, "t001", func(r receipts.Receipt) bool { return r.Reason == receipts.Disconnected })

	back := startAgent(t, c, "", "t001", "361126104201001", "--state-dir", state)
	r := awaitReceipt(t, c, cut, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })
	if r.Played == nil || r.Played.Duration < 1900 {
		t.Fatalf("redelivered after the restart: %+v, want done with the whole 2 s played", r)
	}
	evil.publish(own, played)
	evil.publish(own, cutOff)
	rs := awaitRejections(t, c, "t001", map[string]int{"replayed": 2})
	for _, r := range rs {
		if !strings.Contains(r.Detail, "before restart") {
			t.Errorf("rejection %+v: want it refused by the floor kept across the restart", r)
		}
	}
	h := heard(t, back)["t001"]
	// Only the redelivered 2 s of 600 Hz: the 1 kHz command replayed after the restart, which
	// this process never saw, must not sound.
	if span := h.LastLoud - h.FirstLoud + 1; span < 31500 || span > 32500 || h.DominantHz < 590 || h.DominantHz > 610 {
		t.Fatalf("restarted agent heard %+v (span %d), want the redelivered 2 s of 600 Hz only", h, span)
	}
	if l := back.log.String(); !strings.Contains(l, "commands verified") || strings.Contains(l, "first start") || strings.Contains(l, "damaged") {
		t.Errorf("restarted agent did not start from the floor it saved:\n%s", l)
	}
}

// On a broker anyone can publish to, anyone can also pose as a terminal reporting refusals:
// the controller counts every report but stores at most 20 at once per terminal (then one a
// second), so a flood cannot fill the store; reports it cannot take are refused and counted.
func TestForgedRejectionReportsCannotFillTheStore(t *testing.T) {
	c := startOpenController(t)
	evil := newAttacker(t, c.MQTTAddr)
	fake, _ := proto.Marshal(&dalabapb.CommandRejected{TerminalId: "t001", Reason: dalabapb.RejectReason_REJECT_REASON_FORGED,
		Topic: "dalaba/v1/cmd/town/361126104", Detail: "假报告", AtUnixMs: time.Now().UnixMilli()})
	f := writeFile(t, "fake.bin", fake)
	out, err := exec.Command("mosquitto_pub", "-h", evil.host, "-p", evil.port, "-q", "1", "-t", wire.RejectedTopic("t001"),
		"-f", f, "--repeat", "200").CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	evil.publish(wire.RejectedTopic("t001"), []byte("junk"))                                           // malformed
	evil.publish(wire.RejectedTopic("t999"), []byte(strings.ReplaceAll(string(fake), "t001", "t999"))) // unknown terminal
	eventually(t, 20*time.Second, func() error {
		if v := metric(t, c, `dalaba_commands_rejected_total{reason="forged"}`); v != 200 {
			return fmt.Errorf("counted %v forged reports, want all 200", v)
		}
		if v := metric(t, c, `dalaba_reports_rejected_total{kind="command_rejected"}`); v != 2 {
			return fmt.Errorf("refused %v reports, want 2", v)
		}
		return nil
	})
	if n := len(rejectionsOf(t, c, "t001")); n < 20 || n > 25 {
		t.Fatalf("%d of 200 reports stored, want the burst of 20 (and one a second after)", n)
	}
}

func TestAgentWithoutControllerKeyRefusesToStart(t *testing.T) {
	home, _ := alsatest.Home(t)
	for name, args := range map[string][]string{
		"terminal-agent without --controller-key": {"terminal-agent", "--id", "t001", "--group", "361126104201001", "--mqtt", "127.0.0.1:1"},
		"terminal-agent with a missing key file":  {"terminal-agent", "--id", "t001", "--group", "361126104201001", "--mqtt", "127.0.0.1:1", "--controller-key", filepath.Join(t.TempDir(), "nope.pub")},
		"fleet-sim without --controller-key":      {"fleet-sim", "--site", siteCSV, "--mqtt", "127.0.0.1:1"},
	} {
		cmd := exec.Command(filepath.Join(binDir, args[0]), args[1:]...)
		cmd.Env = alsatest.Env(home)
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("%s: err %v, want exit status 2; output:\n%s", name, err, out)
		} else if !strings.Contains(string(out), "controller") || !strings.Contains(string(out), "key") {
			t.Errorf("%s says %q; want it to name the controller key", name, out)
		}
	}
}

func TestControllerSigningKeyFiles(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	key, err := controller.LoadSigningKey(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, controller.SigningKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, mode %v; want 0600", err, fi.Mode())
	}
	b, _ := os.ReadFile(filepath.Join(dir, controller.SigningKeyFile))
	if block, _ := pem.Decode(b); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("private key file is not PEM PKCS#8:\n%s", b)
	} else if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil || !key.Equal(k) {
		t.Fatalf("private key file holds another key: %v", err)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, controller.SigningPubKeyFile))
	block, _ := pem.Decode(pub)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("public key file is not PEM:\n%s", pub)
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil || !key.Public().(ed25519.PublicKey).Equal(k) {
		t.Fatalf("public key file holds another key: %v", err)
	}
	// The next start keeps the key, and puts back a deleted public key.
	os.Remove(filepath.Join(dir, controller.SigningPubKeyFile))
	again, err := controller.LoadSigningKey(dir, quiet)
	if err != nil || !again.Equal(key) {
		t.Fatalf("second start: %v, same key %v", err, again.Equal(key))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, controller.SigningPubKeyFile)); string(b) != string(pub) {
		t.Fatal("public key file not written again")
	}
	// A private key others may read is refused, as is a damaged one.
	os.Chmod(filepath.Join(dir, controller.SigningKeyFile), 0o644)
	if _, err := controller.LoadSigningKey(dir, quiet); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("key readable by others: %v, want a refusal saying chmod 600", err)
	}
	os.WriteFile(filepath.Join(dir, controller.SigningKeyFile), []byte("garbage"), 0o600)
	if _, err := controller.LoadSigningKey(dir, quiet); err == nil {
		t.Fatal("a damaged key was accepted")
	}
}
