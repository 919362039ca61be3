package presence

import (
	"testing"

	"dalaba/proto/dalabapb"
)

// A terminal already online that announces a new connection (a broker restarted under it,
// dropping no Last Will) is reported as reconnected; the same announcement delivered again
// (retained, after the controller itself reconnects) is not, nor is a first or a returning one
// (that is OnOnline's).
func TestReconnectWithoutGoingOffline(t *testing.T) {
	tr, _ := newTestTracker(t)
	var online, reconnected []string
	tr.OnOnline(func(id string) { online = append(online, id) })
	tr.OnReconnect(func(id string) { reconnected = append(reconnected, id) })
	status := func(online bool, at int64) {
		t.Helper()
		if err := tr.Apply("t001", &dalabapb.Status{TerminalId: "t001", Online: online, AtUnixMs: at}); err != nil {
			t.Fatal(err)
		}
	}
	status(true, 1000) // first connection
	status(true, 1000) // the retained copy again
	if len(online) != 1 || len(reconnected) != 0 {
		t.Fatalf("first connect: online %v, reconnected %v", online, reconnected)
	}
	status(true, 2000) // connected anew, never seen offline
	if len(online) != 1 || len(reconnected) != 1 {
		t.Fatalf("new connection while online: online %v, reconnected %v", online, reconnected)
	}
	status(false, 2500) // goodbye
	status(true, 3000)  // back: OnOnline, not a reconnect
	if len(online) != 2 || len(reconnected) != 1 {
		t.Fatalf("back after a goodbye: online %v, reconnected %v", online, reconnected)
	}
}
