package controller_test

import (
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"dalaba/controller"
	"dalaba/controller/dispatch"
	"dalaba/controller/receipts"
	"dalaba/proto/wire"
	agent "dalaba/terminal-agent"
	"dalaba/terminal-agent/sink"
)

// awaitReceipt waits until terminal's receipt in broadcast id satisfies ok.
func awaitReceipt(t *testing.T, c *controller.Controller, id, terminal string, ok func(receipts.Receipt) bool) receipts.Receipt {
	t.Helper()
	var last receipts.Receipt
	eventually(t, 20*time.Second, func() error {
		sum, err := c.Book.Get(context.Background(), id)
		if err != nil {
			return err
		}
		for _, r := range sum.Receipts {
			if r.Terminal == terminal {
				last = r
				if ok(r) {
					return nil
				}
			}
		}
		return fmt.Errorf("%s in %s: %+v", terminal, id, last)
	})
	return last
}

func send(t *testing.T, c *controller.Controller, targets, validFor string, wav []byte) string {
	t.Helper()
	fields := map[string]string{"title": "送达测试", "targets": targets}
	if validFor != "" {
		fields["valid_for"] = validFor
	}
	code, body := post(t, c, fields, wav)
	if code != 201 {
		t.Fatalf("post: %d %v", code, body)
	}
	return body["id"].(string)
}

func TestOfflineTerminalThatReturnsInsideTheWindowPlays(t *testing.T) {
	c := startController(t, "")
	// t001 has never connected: the broker holds no session for it, so only the controller's
	// redelivery can bring it the broadcast.
	id := send(t, c, "terminal:t001", "60", toneWAV(t, 1000, 500*time.Millisecond))
	if r := awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return true }); r.State != receipts.Offline {
		t.Fatalf("before it connects: %s, want offline", r.State)
	}
	a := startAgent(t, c, "", "t001", "361126104201001")
	r := awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State.Final() && r.State != receipts.Offline })
	if r.State != receipts.Done || r.Played == nil || r.Played.Duration < 450 {
		t.Fatalf("after coming back: %+v, want done with proof of about 500 ms", r)
	}
	if h := heard(t, a)["t001"]; h.LastLoud-h.FirstLoud < 7700 {
		t.Fatalf("heard %+v, want the 0.5 s tone", h)
	}
}

func TestAgentKilledMidPlayAndRestartedPlaysAgain(t *testing.T) {
	c := startController(t, "")
	a := startAgent(t, c, "", "t001", "361126104201001")
	waitOnline(t, c, a)
	id := send(t, c, "terminal:t001", "60", toneWAV(t, 600, 2*time.Second))
	awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	a.kill()
	awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.Reason == receipts.Disconnected })

	back := startAgent(t, c, "", "t001", "361126104201001")
	r := awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })
	if r.Reason != receipts.NoReason || r.Played == nil || r.Played.Duration < 1900 {
		t.Fatalf("after restart: %+v, want done with the whole 2 s played", r)
	}
	if h := heard(t, back)["t001"]; h.LastLoud-h.FirstLoud < 31500 {
		t.Fatalf("restarted agent heard %+v, want the whole 2 s tone", h)
	}
}

// brokenSink plays through a paced null sink but damages what reaches the "speaker", the way
// a failing amplifier or a cut cable would; the controller must notice from the proof of play.
type brokenSink struct {
	sink.Sink
	keep   float64 // fraction of the program that gets out
	silent bool
}

func (s brokenSink) Play(ctx context.Context, pcm []byte) (sink.Played, error) {
	// The agent puts lead-in silence before a synchronised program: keep a share of the program.
	lead := int(agent.LeadIn(ctx)*wire.BytesPerSecond/time.Second) &^ 1
	n := lead + int(float64(len(pcm)-lead)*s.keep)&^1
	out := pcm[:n]
	if s.silent {
		out = make([]byte, n)
	}
	return s.Sink.Play(ctx, out)
}

func runSimAgent(t *testing.T, c *controller.Controller, id, group string, s sink.Sink) {
	conn, err := grpc.NewClient(c.GRPCAddr, grpcCreds(t, c))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		agent.Run(ctx, agent.Options{TerminalID: id, GroupCode: group, BrokerURL: brokerURLOf(c), Sink: s,
			TLS: agentTLS(t, c), Token: bundleFor(t, c, id).Token,
			AudioConn: conn, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ControllerKeys: []ed25519.PublicKey{c.CommandKey}})
	}()
	t.Cleanup(func() { cancel(); <-done; conn.Close() })
}

func TestSilentOrTruncatedPlayIsFailedToSound(t *testing.T) {
	c := startController(t, "")
	runSimAgent(t, c, "t001", "361126104201001", sink.NewNull())
	runSimAgent(t, c, "t002", "361126104201001", brokenSink{Sink: sink.NewNull(), keep: 0.4})
	runSimAgent(t, c, "t003", "361126104201002", brokenSink{Sink: sink.NewNull(), keep: 1, silent: true})
	eventually(t, 10*time.Second, func() error {
		if n := c.Presence.OnlineCount(); n != 3 {
			return fmt.Errorf("%d online", n)
		}
		return nil
	})
	id := send(t, c, "terminal:t001,terminal:t002,terminal:t003", "", toneWAV(t, 1000, time.Second))
	want := map[string]struct {
		state  receipts.State
		reason receipts.Reason
		detail string
	}{
		"t001": {receipts.Done, receipts.NoReason, ""},
		"t002": {receipts.Failed, receipts.FailedToSound, "too short: played 0.40 s of 1.00 s"},
		"t003": {receipts.Failed, receipts.FailedToSound, "silent: peak 0.00000"},
	}
	for term, w := range want {
		r := awaitReceipt(t, c, id, term, func(r receipts.Receipt) bool { return r.State.Final() })
		if r.State != w.state || r.Reason != w.reason || !strings.HasPrefix(r.Detail, w.detail) {
			t.Errorf("%s: %s/%s %q, want %s/%s %q", term, r.State, r.Reason, r.Detail, w.state, w.reason, w.detail)
		}
	}
	_, rep := get(t, c, "/api/v1/broadcasts/"+id)
	if n := rep.(map[string]any)["failed_to_sound"]; n != 2.0 {
		t.Errorf("report failed_to_sound = %v, want 2", n)
	}
	checkAsPlayedCSV(t, c, id)
}

// checkAsPlayedCSV compares the exported as-played log with the receipts, row by row.
func checkAsPlayedCSV(t *testing.T, c *controller.Controller, id string) {
	t.Helper()
	resp, err := adminGet(t, "http://"+c.HTTPAddr+"/api/v1/broadcasts/"+id+"/as-played.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("as-played CSV: %v\n%s", err, body)
	}
	sum, _ := c.Book.Get(context.Background(), id)
	if len(rows) != len(sum.Receipts)+1 || rows[0][0] != "广播ID" {
		t.Fatalf("as-played CSV has %d rows for %d receipts:\n%s", len(rows), len(sum.Receipts), body)
	}
	for i, r := range sum.Receipts {
		row := rows[i+1]
		if row[2] != r.Terminal || row[9] != string(r.Reason) || row[11] != r.Detail {
			t.Errorf("CSV row %v does not match receipt %+v", row, r)
		}
		if (r.State == receipts.Done) != (row[8] == "已播放") {
			t.Errorf("CSV result %q for receipt state %s", row[8], r.State)
		}
		if r.Played != nil && row[12] != fmt.Sprintf("%.3f", float64(r.Played.Duration)/1000) {
			t.Errorf("CSV duration %q, receipt %d ms", row[12], r.Played.Duration)
		}
	}
}

func TestBrokerRestartMidBroadcast(t *testing.T) {
	m := newMosquitto(t)
	c := startController(t, m.url())
	a := startAgent(t, c, m.url(), "t001", "361126104201001")
	b := startAgent(t, c, m.url(), "t003", "361126104201002")
	waitOnline(t, c, a, b)
	id := send(t, c, "terminal:t001,terminal:t003", "120", toneWAV(t, 800, 2*time.Second))
	awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	m.restart() // the horns play on; their done receipts wait in their clients until the broker is back
	for _, term := range []string{"t001", "t003"} {
		r := awaitReceipt(t, c, id, term, func(r receipts.Receipt) bool { return r.State == receipts.Done })
		if r.Played == nil || r.Played.Duration < 1900 {
			t.Errorf("%s: %+v, want done with 2 s played", term, r)
		}
	}
	for term, h := range heard(t, a, b) {
		if span := h.LastLoud - h.FirstLoud + 1; span < 31500 || span > 32500 {
			t.Errorf("%s heard %+v, want one uninterrupted 2 s tone", term, h)
		}
	}
}

func TestBroadcastWithCallerChosenIDIsSentOnce(t *testing.T) {
	c := startController(t, "")
	runSimAgent(t, c, "t001", "361126104201001", sink.NewNull())
	eventually(t, 10*time.Second, func() error {
		if !c.Presence.Get("t001").Online {
			return fmt.Errorf("t001 offline")
		}
		return nil
	})
	pcm := make([]byte, 16000) // 0.5 s of the system format
	for i := range pcm {
		pcm[i] = byte(i * 7)
	}
	req := func() dispatch.Request {
		return dispatch.Request{ID: "slot-caoxi-morning-20261122", Title: "定时", PCM: pcm, Source: "test",
			Targets: []wire.Address{{Tier: wire.TierTerminal, Code: "t001"}}}
	}
	for range 3 { // a schedule slot fired again after a crash names the same id
		id, err := c.Dispatcher.Broadcast(context.Background(), req())
		if err != nil || id != "slot-caoxi-morning-20261122" {
			t.Fatalf("broadcast: %q %v", id, err)
		}
	}
	r := awaitReceipt(t, c, "slot-caoxi-morning-20261122", "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })
	if r.Played == nil || r.Played.Bytes != int64(len(pcm)) {
		t.Fatalf("receipt %+v, want one whole play", r)
	}
	_, list := get(t, c, "/api/v1/broadcasts")
	if n := len(list.([]any)); n != 1 {
		t.Fatalf("%d broadcasts recorded, want 1", n)
	}
	bad := req()
	bad.ID = "x/../y"
	if _, err := c.Dispatcher.Broadcast(context.Background(), bad); err == nil {
		t.Fatal("a malformed broadcast id was accepted")
	}
}
