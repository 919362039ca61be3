package agent

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/signing"
	"dalaba/proto/wire"
)

// fuzzKey is fixed so that the checked-in seeds stay genuinely signed (and, after a day, stale).
var fuzzKey = ed25519.NewKeyFromSeed([]byte("dalaba fuzz: not a real key!!!!!"))

// FuzzIntake feeds the agent's command intake (every payload on a command topic goes through
// it first) arbitrary payloads on its own and another village's topic. It must never panic;
// it acts only on a command genuinely signed for that topic, and only once; everything else is
// refused with exactly one report (none lost to the limiter here) naming a known reason.
func FuzzIntake(f *testing.F) {
	topics := []string{ownTopic, otherTopic}
	now := time.Now()
	for _, cmd := range []*dalabapb.Command{play("b1"), {Body: &dalabapb.Command_Stop{Stop: &dalabapb.StopCommand{BroadcastId: "b1"}}}} {
		b, err := signing.NewSigner(fuzzKey, func() time.Time { return now }).Sign(ownTopic, cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
		bare, _ := proto.Marshal(cmd)
		f.Add(bare, uint8(0))
	}
	f.Add([]byte("PLAY NOW"), uint8(0))
	f.Fuzz(func(t *testing.T, payload []byte, topicIdx uint8) {
		topic := topics[int(topicIdx)%len(topics)]
		var reports []*dalabapb.CommandRejected
		in, err := newIntake([]ed25519.PublicKey{fuzzKey.Public().(ed25519.PublicKey)}, "", time.Now,
			func(r *dalabapb.CommandRejected) { reports = append(reports, r) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		in.limit.SetLimit(rate.Inf)
		cmd, ok := in.open(topic, payload)
		if ok {
			var sc dalabapb.SignedCommand
			if proto.Unmarshal(payload, &sc) != nil || !ed25519.Verify(fuzzKey.Public().(ed25519.PublicKey), signing.Message(topic, sc.Seq, sc.AtUnixMs, sc.Command), sc.Signature) {
				t.Fatalf("acted on %v, not signed for %s", cmd, topic)
			}
			if len(reports) != 0 {
				t.Fatalf("accepted and reported: %v", reports)
			}
			if _, again := in.open(topic, payload); again {
				t.Fatal("the same signed command accepted twice")
			}
			if len(reports) != 1 || reports[0].GetReason() != dalabapb.RejectReason_REJECT_REASON_REPLAYED {
				t.Fatalf("second copy reported %v, want replayed", reports)
			}
			return
		}
		if cmd != nil || len(reports) != 1 || wire.RejectReasonName(reports[0].GetReason()) == "" || reports[0].GetTopic() != topic {
			t.Fatalf("refused with command %v and reports %v", cmd, reports)
		}
	})
}
