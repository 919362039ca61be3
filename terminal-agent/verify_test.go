package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/signing"
	"dalaba/proto/wire"
)

const (
	ownTopic   = "dalaba/v1/cmd/village/361126104201"
	otherTopic = "dalaba/v1/cmd/village/361126104202"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func play(id string) *dalabapb.Command {
	return &dalabapb.Command{Body: &dalabapb.Command_Play{Play: &dalabapb.PlayCommand{BroadcastId: id}}}
}

// signedAt signs cmd for topic with key as if at instant at.
func signedAt(t *testing.T, key ed25519.PrivateKey, at time.Time, topic string, cmd *dalabapb.Command) []byte {
	t.Helper()
	b, err := signing.NewSigner(key, func() time.Time { return at }).Sign(topic, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// intakeRig is an intake with its reports and log captured.
type intakeRig struct {
	in      *intake
	reports []*dalabapb.CommandRejected
	log     *bytes.Buffer
}

func newRig(t *testing.T, pub ed25519.PublicKey, stateDir string) *intakeRig {
	t.Helper()
	r := &intakeRig{log: new(bytes.Buffer)}
	in, err := newIntake([]ed25519.PublicKey{pub}, stateDir, time.Now,
		func(m *dalabapb.CommandRejected) { r.reports = append(r.reports, m) },
		slog.New(slog.NewTextHandler(r.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r.in = in
	return r
}

func (r *intakeRig) lastReport(t *testing.T) *dalabapb.CommandRejected {
	t.Helper()
	if len(r.reports) == 0 {
		t.Fatal("no rejection reported")
	}
	return r.reports[len(r.reports)-1]
}

func TestIntakeActsOnlyOnGenuineCommands(t *testing.T) {
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	r := newRig(t, pub, "")
	now := time.Now()
	genuine := signedAt(t, key, now, ownTopic, play("b1"))
	if cmd, ok := r.in.open(ownTopic, genuine); !ok || cmd.GetPlay().GetBroadcastId() != "b1" {
		t.Fatalf("genuine command: %v %v; log:\n%s", cmd, ok, r.log)
	}
	if len(r.reports) != 0 {
		t.Fatalf("a genuine command was reported refused: %v", r.reports)
	}

	// A forger who knows the controller's key id but not its key.
	forger := newKey(t)
	var forged dalabapb.SignedCommand
	proto.Unmarshal(signedAt(t, forger, now, ownTopic, play("f1")), &forged)
	forged.KeyId = signing.KeyID(pub)
	forgedBytes, _ := proto.Marshal(&forged)
	// A genuine command with its body swapped for another.
	var altered dalabapb.SignedCommand
	proto.Unmarshal(signedAt(t, key, now, ownTopic, play("b2")), &altered)
	altered.Command, _ = proto.Marshal(play("evil"))
	alteredBytes, _ := proto.Marshal(&altered)
	bare, _ := proto.Marshal(play("u1"))

	cases := []struct {
		name, topic string
		payload     []byte
		want        dalabapb.RejectReason
	}{
		{"unsigned (a bare Command)", ownTopic, bare, dalabapb.RejectReason_REJECT_REASON_UNSIGNED},
		{"garbage", ownTopic, []byte("PLAY NOW"), dalabapb.RejectReason_REJECT_REASON_UNSIGNED},
		{"empty", ownTopic, nil, dalabapb.RejectReason_REJECT_REASON_UNSIGNED},
		{"forged with the controller's key id", ownTopic, forgedBytes, dalabapb.RejectReason_REJECT_REASON_FORGED},
		{"genuine signature over another command", ownTopic, alteredBytes, dalabapb.RejectReason_REJECT_REASON_FORGED},
		{"signed by an unknown key", ownTopic, signedAt(t, forger, now, ownTopic, play("k1")), dalabapb.RejectReason_REJECT_REASON_UNKNOWN_KEY},
		{"replayed", ownTopic, genuine, dalabapb.RejectReason_REJECT_REASON_REPLAYED},
		{"genuine, moved to another village's topic", otherTopic, signedAt(t, key, now, ownTopic, play("m1")), dalabapb.RejectReason_REJECT_REASON_FORGED},
		{"stale", ownTopic, signedAt(t, key, now.Add(-signing.MaxAge-time.Minute), ownTopic, play("s1")), dalabapb.RejectReason_REJECT_REASON_STALE},
		{"future", ownTopic, signedAt(t, key, now.Add(signing.MaxAhead+time.Minute), ownTopic, play("x1")), dalabapb.RejectReason_REJECT_REASON_FUTURE},
	}
	for _, c := range cases {
		n := len(r.reports)
		if cmd, ok := r.in.open(c.topic, c.payload); ok {
			t.Fatalf("%s: accepted %v", c.name, cmd)
		}
		if len(r.reports) != n+1 {
			t.Fatalf("%s: %d reports, want 1 more than %d", c.name, len(r.reports), n)
		}
		rep := r.lastReport(t)
		if rep.GetReason() != c.want || rep.GetTopic() != c.topic || rep.GetDetail() == "" {
			t.Fatalf("%s: reported %v, want reason %v on %s with a detail", c.name, rep, c.want, c.topic)
		}
	}
	if rep := r.reports[5]; rep.GetKeyId() != signing.KeyID(forger.Public().(ed25519.PublicKey)) || rep.GetSeq() == 0 {
		t.Fatalf("unknown key report %v: want the key id it claimed and its seq", rep)
	}
	if !strings.Contains(r.log.String(), "refused command") {
		t.Fatalf("refusals not logged:\n%s", r.log)
	}
	// The refusals burned nothing: a later genuine command is taken.
	if _, ok := r.in.open(ownTopic, signedAt(t, key, time.Now(), ownTopic, play("b3"))); !ok {
		t.Fatalf("genuine command after the attacks refused; log:\n%s", r.log)
	}
}

func TestIntakeLimitsItsReports(t *testing.T) {
	key := newKey(t)
	r := newRig(t, key.Public().(ed25519.PublicKey), "")
	for range rejectBurst + 5 {
		r.in.open(ownTopic, []byte("junk"))
	}
	if len(r.reports) != rejectBurst {
		t.Fatalf("%d reports of %d refusals at once, want the burst of %d", len(r.reports), rejectBurst+5, rejectBurst)
	}
	// The next report, when the limiter allows it, carries the count of those not reported.
	r.in.limit.SetLimit(rate.Inf)
	r.in.open(ownTopic, []byte("junk"))
	if got := r.lastReport(t).GetSuppressed(); got != 5 {
		t.Fatalf("suppressed %d, want 5", got)
	}
}

func TestFloorSurvivesRestart(t *testing.T) {
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	dir := filepath.Join(t.TempDir(), "state")
	r := newRig(t, pub, dir)
	if !strings.Contains(r.log.String(), "first start") {
		t.Fatalf("first start not logged:\n%s", r.log)
	}
	first := signedAt(t, key, time.Now(), ownTopic, play("b1"))
	if _, ok := r.in.open(ownTopic, first); !ok {
		t.Fatal("genuine command refused")
	}
	var sc dalabapb.SignedCommand
	proto.Unmarshal(first, &sc)
	b, err := os.ReadFile(filepath.Join(dir, floorName))
	if err != nil || string(b) != strings.TrimSpace(string(b))+"\n" || strings.TrimSpace(string(b)) != strconv.FormatUint(sc.Seq, 10) {
		t.Fatalf("floor file %q (%v), want seq %d", b, err, sc.Seq)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("state dir holds %v, want only %s (no temporary files left)", entries, floorName)
	}

	// Restarted: the command it took is a replay; a newer one is taken.
	again := newRig(t, pub, dir)
	if _, ok := again.in.open(ownTopic, first); ok {
		t.Fatal("a command accepted before the restart was accepted again")
	}
	if rep := again.lastReport(t); rep.GetReason() != dalabapb.RejectReason_REJECT_REASON_REPLAYED {
		t.Fatalf("replay after restart reported %v", rep)
	}
	if _, ok := again.in.open(ownTopic, signedAt(t, key, time.Now(), ownTopic, play("b2"))); !ok {
		t.Fatalf("newer command refused after restart; log:\n%s", again.log)
	}

	// Without a state directory the restart forgets: the same replay is taken. This is what
	// the floor file is for.
	mem := newRig(t, pub, "")
	if _, ok := mem.in.open(ownTopic, first); !ok {
		t.Fatal("memory-only intake refused a fresh command")
	}
	if !strings.Contains(mem.log.String(), "memory only") {
		t.Fatalf("memory-only mode not logged:\n%s", mem.log)
	}
}

func TestDamagedFloorStartsFromZeroAndKeepsTheFile(t *testing.T) {
	key := newKey(t)
	for name, content := range map[string]string{
		"not a number":    "hello\n",
		"no newline":      "12345",
		"empty":           "",
		"negative":        "-5\n",
		"too big":         "99999999999999999999999\n",
		"trailing junk":   "12345\nx",
		"binary":          "\x00\xff\x10\n",
		"spaces":          " 12\n",
		"two numbers":     "1\n2\n",
		"hex":             "0x10\n",
		"plus sign":       "+7\n",
		"just a newline":  "\n",
		"utf-8 digits":    "１２\n",
		"a floor and CR":  "12\r\n",
		"a floor with sp": "12 \n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, floorName)
			os.WriteFile(path, []byte(content), 0o600)
			r := newRig(t, key.Public().(ed25519.PublicKey), dir)
			if !strings.Contains(r.log.String(), "damaged") || !strings.Contains(r.log.String(), "level=ERROR") {
				t.Fatalf("damaged floor not logged as an error:\n%s", r.log)
			}
			if kept, err := os.ReadFile(path + ".corrupt"); err != nil || string(kept) != content {
				t.Fatalf("damaged file not kept aside: %q %v", kept, err)
			}
			if b, _ := os.ReadFile(path); string(b) != "0\n" {
				t.Fatalf("floor file after a damaged one: %q, want 0", b)
			}
			if _, ok := r.in.open(ownTopic, signedAt(t, key, time.Now(), ownTopic, play("b1"))); !ok {
				t.Fatal("genuine command refused after a damaged floor")
			}
		})
	}
}

func TestUnusableStateDirIsRefused(t *testing.T) {
	key := newKey(t)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	_, err := newIntake([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, filepath.Join(file, "state"), time.Now,
		func(*dalabapb.CommandRejected) {}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err == nil || !strings.Contains(err.Error(), "state directory") {
		t.Fatalf("state dir under a file: %v, want a state directory error", err)
	}
	// A directory where the floor should be cannot be read as one.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, floorName), 0o700)
	_, err = newIntake([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, dir, time.Now,
		func(*dalabapb.CommandRejected) {}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err == nil {
		t.Fatal("a directory in place of the floor file was accepted")
	}
}

func TestReadControllerKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	pubBlock := func(k ed25519.PrivateKey) *pem.Block {
		der, _ := x509.MarshalPKIXPublicKey(k.Public())
		return &pem.Block{Type: "PUBLIC KEY", Bytes: der}
	}
	k1, k2 := newKey(t), newKey(t)
	keys, err := ReadControllerKeys(write("two.pub", pubBlock(k1), pubBlock(k2)))
	if err != nil || len(keys) != 2 || !keys[0].Equal(k1.Public()) || !keys[1].Equal(k2.Public()) {
		t.Fatalf("two keys: %v %v", keys, err)
	}
	priv, _ := x509.MarshalPKCS8PrivateKey(k1)
	rsaLike := &pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not DER")}
	for name, path := range map[string]string{
		"missing file": filepath.Join(dir, "nope.pub"),
		"empty file":   write("empty.pub"),
		"private key":  write("priv.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: priv}),
		"bad DER":      write("bad.pub", rsaLike),
		"not PEM at all": func() string {
			p := filepath.Join(dir, "raw")
			os.WriteFile(p, k1.Public().(ed25519.PublicKey), 0o644)
			return p
		}(),
	} {
		if keys, err := ReadControllerKeys(path); err == nil {
			t.Errorf("%s: read %d keys, want an error", name, len(keys))
		} else if !strings.Contains(err.Error(), "controller key") {
			t.Errorf("%s: %v does not say it is about the controller key", name, err)
		}
	}
}

func TestRejectReasonNames(t *testing.T) {
	for v := range dalabapb.RejectReason_name {
		r := dalabapb.RejectReason(v)
		name := wire.RejectReasonName(r)
		if (r == dalabapb.RejectReason_REJECT_REASON_UNSPECIFIED) != (name == "") {
			t.Errorf("%v: name %q", r, name)
		}
	}
}
