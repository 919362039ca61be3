package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
)

func rejectedPayload(m *dalabapb.CommandRejected) []byte {
	b, _ := proto.Marshal(m)
	return b
}

func knownT(id string) bool { return strings.HasPrefix(id, "t") }

func TestParseRejection(t *testing.T) {
	at := time.Now().UnixMilli()
	good := &dalabapb.CommandRejected{TerminalId: "t1", Reason: dalabapb.RejectReason_REJECT_REASON_FORGED,
		Topic: "dalaba/v1/cmd/village/361126104202", Seq: 42, KeyId: "f2fa5e97e61a9fad",
		Detail: "command signature does not verify", AtUnixMs: at, Suppressed: 3}
	r, err := ParseRejection("t1", rejectedPayload(good), knownT, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := "forged: dalaba/v1/cmd/village/361126104202 seq 42 key f2fa5e97e61a9fad: command signature does not verify (and 3 more refused since the last report)"
	if r.Reason != "forged" || r.Count != 4 || r.Event.Detail != want || r.Event.Kind != KindCommandRejected ||
		r.Event.Terminal != "t1" || r.Event.At.UnixMilli() != at || !r.Event.Active {
		t.Fatalf("parsed %+v", r)
	}
	if d := r.Event.Describe(); d != "拒绝执行命令：签名无效（伪造或被篡改）" {
		t.Fatalf("described as %q", d)
	}
	unsigned := &dalabapb.CommandRejected{TerminalId: "t1", Reason: dalabapb.RejectReason_REJECT_REASON_UNSIGNED, Topic: "x"}
	if r, err := ParseRejection("t1", rejectedPayload(unsigned), knownT, time.Now()); err != nil || r.Event.Detail != "unsigned: x" || r.Event.Describe() != "拒绝执行命令：未签名" {
		t.Fatalf("unsigned without seq: %+v %v", r, err)
	}

	for name, c := range map[string]struct {
		from    string
		payload []byte
	}{
		"not protobuf":            {"t1", []byte{0xff, 0xff, 0xff}},
		"another terminal's":      {"t2", rejectedPayload(good)},
		"unknown terminal":        {"x1", rejectedPayload(&dalabapb.CommandRejected{TerminalId: "x1", Reason: dalabapb.RejectReason_REJECT_REASON_STALE})},
		"no reason":               {"t1", rejectedPayload(&dalabapb.CommandRejected{TerminalId: "t1"})},
		"unknown reason":          {"t1", rejectedPayload(&dalabapb.CommandRejected{TerminalId: "t1", Reason: 99})},
		"time before 1970":        {"t1", rejectedPayload(&dalabapb.CommandRejected{TerminalId: "t1", Reason: 1, AtUnixMs: -1})},
		"time after 9999":         {"t1", rejectedPayload(&dalabapb.CommandRejected{TerminalId: "t1", Reason: 1, AtUnixMs: maxUnixMs + 1})},
		"empty terminal, topic +": {"", rejectedPayload(&dalabapb.CommandRejected{Reason: 1})},
	} {
		if r, err := ParseRejection(c.from, c.payload, knownT, time.Now()); err == nil {
			t.Errorf("%s: accepted %+v", name, r)
		}
	}

	// What a terminal (or someone posing as one) writes is bounded, cut on a character
	// boundary. (Invalid UTF-8 does not get this far: protobuf refuses it in a string field.)
	long := &dalabapb.CommandRejected{TerminalId: "t1", Reason: 1, Topic: strings.Repeat("话", 500),
		KeyId: strings.Repeat("k", 500), Detail: strings.Repeat("x", 5000)}
	r, err = ParseRejection("t1", rejectedPayload(long), knownT, time.Now())
	if err != nil || len(r.Event.Detail) > 600 || !utf8.ValidString(r.Event.Detail) {
		t.Fatalf("long report: %d bytes, valid %v, err %v", len(r.Event.Detail), utf8.ValidString(r.Event.Detail), err)
	}
}

// FuzzRejection feeds the rejection report decoder arbitrary payloads on the topics of known
// and unknown terminals. It must never panic; an accepted report comes from a known terminal on
// its own topic, names a known reason first in a bounded valid UTF-8 detail, counts at least
// one refusal, and is stored and listed back as it was, encodable for the API.
func FuzzRejection(f *testing.F) {
	db := fuzzDB(f)
	events := NewEvents(db, slog.New(slog.DiscardHandler))
	now := time.Now().UnixMilli()
	for i, m := range []*dalabapb.CommandRejected{
		{TerminalId: "t1", Reason: dalabapb.RejectReason_REJECT_REASON_UNSIGNED, Topic: "dalaba/v1/cmd/terminal/t1", AtUnixMs: now},
		{TerminalId: "t2", Reason: dalabapb.RejectReason_REJECT_REASON_REPLAYED, Topic: "dalaba/v1/cmd/village/361126104201",
			Seq: 1795349827099326, KeyId: "f2fa5e97e61a9fad", Detail: "command already seen (replayed)", AtUnixMs: now, Suppressed: 7},
		{TerminalId: "t1", Reason: dalabapb.RejectReason_REJECT_REASON_FUTURE, AtUnixMs: maxUnixMs},
	} {
		f.Add(rejectedPayload(m), uint8(i))
	}
	f.Fuzz(func(t *testing.T, payload []byte, fromIdx uint8) {
		from := fuzzFrom[int(fromIdx)%len(fuzzFrom)]
		r, err := ParseRejection(from, payload, knownT, time.Now())
		if err != nil {
			return
		}
		reason, _, _ := strings.Cut(r.Event.Detail, ":")
		switch {
		case !knownT(from) || r.Event.Terminal != from || r.Event.Kind != KindCommandRejected:
			t.Fatalf("accepted %+v on the topic of %q", r, from)
		case reason != r.Reason || rejectNames[reason] == "" || r.Count < 1:
			t.Fatalf("accepted %+v: reason %q", r, reason)
		case !utf8.ValidString(r.Event.Detail) || len(r.Event.Detail) > 600:
			t.Fatalf("detail of %d bytes, valid UTF-8 %v", len(r.Event.Detail), utf8.ValidString(r.Event.Detail))
		case !strings.HasPrefix(r.Event.Describe(), "拒绝执行命令："):
			t.Fatalf("described as %q", r.Event.Describe())
		}
		if err := events.Record(context.Background(), r.Event); err != nil {
			t.Fatal(err)
		}
		evs, err := events.List(context.Background(), from, 1)
		if err != nil || len(evs) != 1 || evs[0].Detail != r.Event.Detail || evs[0].At.UnixMilli() != r.Event.At.UnixMilli() {
			t.Fatalf("stored %+v, listed %+v (%v)", r.Event, evs, err)
		}
		if _, err := json.Marshal(evs); err != nil {
			t.Fatalf("event cannot be encoded for the API: %v", err)
		}
	})
}
