package controller_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"dalaba/controller/receipts"
	"dalaba/terminal-agent/sink"
)

// scrape reads the controller's /metrics page.
func scrape(t testing.TB, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestMetricsShowFleetBroadcastsLatencyAndRejections(t *testing.T) {
	c := startOpenController(t) // the forger below needs a broker open to anyone
	runSimAgent(t, c, "t001", "361126104201001", sink.NewNull())
	runSimAgent(t, c, "t013", "361126104202001", sink.NewNull())
	eventually(t, 10*time.Second, func() error {
		if n := c.Presence.OnlineCount(); n != 2 {
			return fmt.Errorf("%d online", n)
		}
		return nil
	})
	id := send(t, c, "terminal:t001", "", toneWAV(t, 1000, 200*time.Millisecond))
	awaitReceipt(t, c, id, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Done })

	// Reports that must not be taken as truth: garbage, a receipt from a terminal that is not in
	// the inventory, and one about a broadcast that does not exist.
	spy := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + c.MQTTAddr).SetClientID("forger"))
	if tok := spy.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer spy.Disconnect(100)
	for _, m := range []struct{ topic, payload string }{
		{"dalaba/v1/receipt/t001", "\xff\xfe not protobuf"},
		{"dalaba/v1/receipt/t999", "\x0a\x04t999\x12\x03bad\x18\x01"},
		{"dalaba/v1/receipt/t001", "\x0a\x04t001\x12\x0bno-such-one\x18\x04"},
		{"dalaba/v1/status/t999", "\x0a\x04t999\x10\x01"},
	} {
		spy.Publish(m.topic, 1, false, []byte(m.payload)).WaitTimeout(5 * time.Second)
	}

	want := []string{
		`dalaba_terminals_online{village="361126104201"} 1`,
		`dalaba_terminals{village="361126104201"} 12`,
		`dalaba_terminals_online{village="361126104202"} 1`,
		`dalaba_terminals_online{village="361126104203"} 0`,
		`dalaba_broadcasts{state="finished"} 1`,
		`dalaba_receipt_latency_seconds_count{state="playing"} 1`,
		`dalaba_receipt_latency_seconds_count{state="done"} 1`,
		`dalaba_reports_rejected_total{kind="receipt"} 3`,
		`dalaba_reports_rejected_total{kind="status"} 1`,
	}
	eventually(t, 5*time.Second, func() error {
		got := scrape(t, c.HTTPAddr)
		for _, w := range want {
			if !strings.Contains(got, w) {
				return fmt.Errorf("/metrics lacks %s", w)
			}
		}
		return nil
	})
	sum, _ := c.Book.Get(t.Context(), id)
	if len(sum.Receipts) != 1 || sum.Counts["done"] != 1 {
		t.Fatalf("forged reports changed the broadcast: %v", sum.Counts)
	}
}
