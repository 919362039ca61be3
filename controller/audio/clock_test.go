package audio

import (
	"context"
	"testing"
	"time"

	"dalaba/proto/dalabapb"
)

// A clock probe over gRPC comes back with the controller's receive and send times between the
// probe's own send and receive (this process has one clock), and its own send time echoed.
func TestServiceClock(t *testing.T) {
	p, _, _ := newTestPrograms(t)
	client, _ := startService(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 5 {
		t1 := time.Now().UnixMicro()
		r, err := client.Clock(ctx, &dalabapb.ClockRequest{ClientSendUnixUs: t1})
		t4 := time.Now().UnixMicro()
		if err != nil {
			t.Fatal(err)
		}
		if r.GetClientSendUnixUs() != t1 {
			t.Fatalf("client send echoed as %d, sent %d", r.GetClientSendUnixUs(), t1)
		}
		t2, t3 := r.GetServerRecvUnixUs(), r.GetServerSendUnixUs()
		if !(t1 <= t2 && t2 <= t3 && t3 <= t4) {
			t.Fatalf("timestamps out of order: sent %d, received %d, answered %d, back %d", t1, t2, t3, t4)
		}
	}
}
