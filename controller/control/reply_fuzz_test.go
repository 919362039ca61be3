package control

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
)

// fuzzFrom are the reply topics a fuzzed payload arrives on: the terminal asked, another
// terminal, and an empty one.
var fuzzFrom = []string{"t1", "t2", ""}

// FuzzDeliver feeds the control reply decoder (Remote.Deliver) arbitrary payloads while a
// command to t1 waits for its reply. It must never panic; a refused reply reaches no caller and
// leaves the command waiting; an accepted one answers only the command it names, only from the
// terminal that command went to, and carries a time the API can encode.
func FuzzDeliver(f *testing.F) {
	now := time.Now().UnixMilli()
	for i, r := range []*dalabapb.ControlReply{
		{TerminalId: "t1", RequestId: "r1", Ok: true, Volume: 60, AtUnixMs: now},
		{TerminalId: "t1", RequestId: "r1", Ok: true, ClockOffsetMs: -250, AtUnixMs: now},
		{TerminalId: "t1", RequestId: "r1", Ok: true, AtUnixMs: now, SelfTest: &dalabapb.PlayReport{DurationMs: 2000, Peak: 0.5, Rms: 0.3, Volume: 80}},
		{TerminalId: "t1", RequestId: "r1", Ok: false, Error: "音频设备故障", AtUnixMs: now},
		{TerminalId: "t2", RequestId: "r1", Ok: true, AtUnixMs: now},
		{TerminalId: "t1", RequestId: "other", Ok: true},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i/4)) // the t2 reply on t2's own topic
	}
	f.Fuzz(func(t *testing.T, payload []byte, fromIdx uint8) {
		from := fuzzFrom[int(fromIdx)%len(fuzzFrom)]
		rm := New(&fakeBus{}, func(string) bool { return true }, func(string) bool { return true }, slog.New(slog.NewTextHandler(io.Discard, nil)))
		answer := rm.expect("r1", "t1")
		err := rm.Deliver(from, payload)
		var got *dalabapb.ControlReply
		select {
		case got = <-answer:
		default:
		}
		rm.mu.Lock()
		_, waiting := rm.waiting["r1"]
		rm.mu.Unlock()
		if err != nil {
			if got != nil || !waiting {
				t.Fatalf("refused reply (%v) answered the caller (%v) or ended its wait (waiting %v)", err, got, waiting)
			}
			return
		}
		if got == nil || waiting {
			t.Fatalf("accepted reply did not answer the caller (%v), or left it waiting (%v)", got, waiting)
		}
		if from != "t1" || got.GetTerminalId() != "t1" || got.GetRequestId() != "r1" {
			t.Fatalf("a reply on the topic of %q (%v) answered the command sent to t1", from, got)
		}
		if _, err := json.Marshal(time.UnixMilli(got.GetAtUnixMs())); err != nil {
			t.Fatalf("the API cannot encode the reply's time: %v", err)
		}
	})
}
