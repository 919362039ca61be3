package presence

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/controller/store"
	"dalaba/proto/dalabapb"
)

// fuzzFrom are the status topics a fuzzed payload arrives on: terminals online, offline and
// never seen, one outside the inventory, and an empty one.
var fuzzFrom = []string{"t001", "t002", "t003", "x404", ""}

// FuzzStatus feeds the status decoder the controller runs on every status topic (unmarshal,
// then Tracker.Apply) arbitrary payloads. It must never panic; a refused status changes no
// terminal's presence and tells nobody anything; an accepted one comes from a known terminal
// on its own topic, sets only that terminal's presence to what it says, and reports a change
// exactly when online flipped.
func FuzzStatus(f *testing.F) {
	db, err := store.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	for i, st := range []*dalabapb.Status{
		{TerminalId: "t001", Online: false, AtUnixMs: time.Now().UnixMilli()},
		{TerminalId: "t002", Online: true, AgentVersion: "0.1.0"},
		{TerminalId: "t003", Online: true, AgentVersion: "0.1.0", AtUnixMs: 1},
		{TerminalId: "x404", Online: true},
	} {
		b, err := proto.Marshal(st)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	f.Add([]byte("\x0a\x04t001\x10"), uint8(0)) // truncated
	f.Fuzz(func(t *testing.T, payload []byte, fromIdx uint8) {
		from := fuzzFrom[int(fromIdx)%len(fuzzFrom)]
		var told []string
		tr := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), func(id string) bool { return id != "" && id[0] == 't' },
			func(id string, _ time.Time) { told = append(told, "offline "+id) })
		tr.OnOnline(func(id string) { told = append(told, "online "+id) })
		tr.OnChange(func(id string, online bool, _ string, _ time.Time) {
			told = append(told, fmt.Sprintf("change %s %v", id, online))
		})
		defer tr.Stop()
		if err := tr.Heartbeat("t001", "0.1.0", 30*time.Second, time.Now()); err != nil { // online, heartbeat armed
			t.Fatal(err)
		}
		if err := tr.Apply("t002", &dalabapb.Status{TerminalId: "t002", Online: true}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Apply("t002", &dalabapb.Status{TerminalId: "t002", Online: false}); err != nil { // seen, offline now
			t.Fatal(err)
		}
		told = nil

		var st dalabapb.Status
		if proto.Unmarshal(payload, &st) != nil {
			return // refused before the tracker sees it
		}
		before := map[string]Presence{}
		for _, id := range fuzzFrom {
			before[id] = tr.Get(id)
		}
		err := tr.Apply(from, &st)
		for _, id := range fuzzFrom {
			if got := tr.Get(id); got != before[id] && (err != nil || id != from) {
				t.Fatalf("status from %q (err %v) changed %s: %+v -> %+v", from, err, id, before[id], got)
			}
		}
		if err != nil {
			if len(told) > 0 {
				t.Fatalf("refused status (%v) was told: %v", err, told)
			}
			return
		}
		if from == "" || from[0] != 't' || st.GetTerminalId() != from {
			t.Fatalf("accepted status %v on the topic of %q", &st, from)
		}
		got := tr.Get(from)
		if got.Online != st.GetOnline() || (st.GetOnline() && got.Version != st.GetAgentVersion()) {
			t.Fatalf("status %v left presence %+v", &st, got)
		}
		flipped := before[from].Online != got.Online
		if flipped != (len(told) > 0) {
			t.Fatalf("online %v -> %v, yet told %v", before[from].Online, got.Online, told)
		}
	})
}
