package receipts

import (
	"testing"
	"time"

	"dalaba/proto/dalabapb"
)

func TestAdvance(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	at := t0.Add(5 * time.Second)
	type from struct {
		state  State
		reason Reason
	}
	tests := []struct {
		name         string
		from         from
		report       State
		reason       Reason
		fromTerminal bool
		accepted     bool
		want         from // state and reason afterwards
	}{
		// Forward moves, one step or several.
		{"pending to received", from{Pending, NoReason}, Received, NoReason, true, true, from{Received, NoReason}},
		{"received to fetched", from{Received, NoReason}, Fetched, NoReason, true, true, from{Fetched, NoReason}},
		{"fetched to playing", from{Fetched, NoReason}, Playing, NoReason, true, true, from{Playing, NoReason}},
		{"playing to done", from{Playing, NoReason}, Done, NoReason, true, true, from{Done, NoReason}},
		{"pending straight to done", from{Pending, NoReason}, Done, NoReason, true, true, from{Done, NoReason}},
		{"received to playing, fetched lost", from{Received, NoReason}, Playing, NoReason, true, true, from{Playing, NoReason}},
		{"playing to failed", from{Playing, NoReason}, Failed, AudioDevice, true, true, from{Failed, AudioDevice}},
		{"pending to failed", from{Pending, NoReason}, Failed, Expired, true, true, from{Failed, Expired}},

		// Late or repeated reports never move backwards.
		{"fetched then late received", from{Fetched, NoReason}, Received, NoReason, true, false, from{Fetched, NoReason}},
		{"done then late playing", from{Done, NoReason}, Playing, NoReason, true, false, from{Done, NoReason}},
		{"duplicate received", from{Received, NoReason}, Received, NoReason, true, false, from{Received, NoReason}},
		{"duplicate playing", from{Playing, NoReason}, Playing, NoReason, true, false, from{Playing, NoReason}},
		{"duplicate done", from{Done, NoReason}, Done, NoReason, true, false, from{Done, NoReason}},

		// Done never reverts.
		{"done then failed by the terminal", from{Done, NoReason}, Failed, Interrupted, true, false, from{Done, NoReason}},
		{"done then disconnected by the controller", from{Done, NoReason}, Failed, Disconnected, false, false, from{Done, NoReason}},
		{"done then no report by the controller", from{Done, NoReason}, Failed, NoReport, false, false, from{Done, NoReason}},

		// An offline target that comes back catches up.
		{"offline then received", from{Offline, NoReason}, Received, NoReason, true, true, from{Received, NoReason}},
		{"offline then done", from{Offline, NoReason}, Done, NoReason, true, true, from{Done, NoReason}},
		{"offline then failed expired", from{Offline, NoReason}, Failed, Expired, true, true, from{Failed, Expired}},

		// The controller's own verdicts.
		{"playing, then disconnected", from{Playing, NoReason}, Failed, Disconnected, false, true, from{Failed, Disconnected}},
		{"pending, then no report", from{Pending, NoReason}, Failed, NoReport, false, true, from{Failed, NoReport}},
		{"disconnected, then no report", from{Failed, Disconnected}, Failed, NoReport, false, false, from{Failed, Disconnected}},
		{"disconnected, controller repeats itself", from{Failed, Disconnected}, Failed, Disconnected, false, false, from{Failed, Disconnected}},

		// ... are overruled by a later report from the terminal itself.
		{"disconnected overruled by done", from{Failed, Disconnected}, Done, NoReason, true, true, from{Done, NoReason}},
		{"disconnected overruled by playing", from{Failed, Disconnected}, Playing, NoReason, true, true, from{Playing, NoReason}},
		{"disconnected overruled by received", from{Failed, Disconnected}, Received, NoReason, true, true, from{Received, NoReason}},
		{"disconnected overruled by interrupted", from{Failed, Disconnected}, Failed, Interrupted, true, true, from{Failed, Interrupted}},
		{"no report overruled by done", from{Failed, NoReport}, Done, NoReason, true, true, from{Done, NoReason}},
		{"no report overruled by bad audio", from{Failed, NoReport}, Failed, BadAudio, true, true, from{Failed, BadAudio}},
		{"no report not overruled by the controller's done", from{Failed, NoReport}, Done, NoReason, false, false, from{Failed, NoReport}},

		// A failure the terminal reported is its word: the controller does not overrule it,
		// and it stays final.
		{"bad audio, then controller says disconnected", from{Failed, BadAudio}, Failed, Disconnected, false, false, from{Failed, BadAudio}},
		{"audio device, then controller says no report", from{Failed, AudioDevice}, Failed, NoReport, false, false, from{Failed, AudioDevice}},
		{"fetch failed, then done", from{Failed, FetchFailed}, Done, NoReason, true, false, from{Failed, FetchFailed}},
		{"expired, then failed again", from{Failed, Expired}, Failed, Interrupted, true, false, from{Failed, Expired}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := Receipt{Terminal: "t001", Village: "361126104201", State: tc.from.state, Reason: tc.from.reason,
				Detail: "before", UpdatedAt: t0, ReceivedAt: t0.Add(-3 * time.Second), FetchedAt: t0.Add(-2 * time.Second)}
			r := orig
			got := r.advance(tc.report, tc.reason, "after", at, tc.fromTerminal)
			if got != tc.accepted {
				t.Errorf("advance = %v, want %v", got, tc.accepted)
			}
			if r.State != tc.want.state || r.Reason != tc.want.reason {
				t.Errorf("receipt is %s/%q, want %s/%q", r.State, r.Reason, tc.want.state, tc.want.reason)
			}
			if !tc.accepted {
				if r != orig {
					t.Errorf("an ignored report changed the receipt:\n got %+v\nwant %+v", r, orig)
				}
				return
			}
			if r.UpdatedAt != at || r.Detail != "after" {
				t.Errorf("UpdatedAt %v, Detail %q; want %v, %q", r.UpdatedAt, r.Detail, at, "after")
			}
			stamps := map[State]time.Time{Received: r.ReceivedAt, Fetched: r.FetchedAt, Playing: r.PlayingAt, Done: r.DoneAt}
			wantStamps := map[State]time.Time{Received: orig.ReceivedAt, Fetched: orig.FetchedAt}
			if _, ok := stamps[tc.report]; ok {
				wantStamps[tc.report] = at
			}
			for s, got := range stamps {
				if !got.Equal(wantStamps[s]) {
					t.Errorf("%s time = %v, want %v", s, got, wantStamps[s])
				}
			}
		})
	}
}

func TestStateFinal(t *testing.T) {
	want := map[State]bool{Pending: false, Received: false, Fetched: false, Playing: false, Preempted: false,
		Done: true, Failed: true, Cancelled: true, Offline: true}
	if len(States) != len(want) {
		t.Fatalf("States has %d entries, want %d", len(States), len(want))
	}
	for _, s := range States {
		w, ok := want[s]
		if !ok {
			t.Errorf("unexpected state %q in States", s)
		}
		if s.Final() != w {
			t.Errorf("%s.Final() = %v, want %v", s, s.Final(), w)
		}
	}
}

func TestFromWire(t *testing.T) {
	states := []struct {
		in   dalabapb.ReceiptState
		want State
		ok   bool
	}{
		{dalabapb.ReceiptState_RECEIPT_STATE_UNSPECIFIED, "", false},
		{dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED, Received, true},
		{dalabapb.ReceiptState_RECEIPT_STATE_FETCHED, Fetched, true},
		{dalabapb.ReceiptState_RECEIPT_STATE_PLAYING, Playing, true},
		{dalabapb.ReceiptState_RECEIPT_STATE_DONE, Done, true},
		{dalabapb.ReceiptState_RECEIPT_STATE_FAILED, Failed, true},
		{dalabapb.ReceiptState(42), "", false},
	}
	for _, tc := range states {
		if got, ok := stateFromWire(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("stateFromWire(%v) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	reasons := map[dalabapb.FailureReason]Reason{
		dalabapb.FailureReason_FAILURE_REASON_UNSPECIFIED:  NoReason,
		dalabapb.FailureReason_FAILURE_REASON_BAD_AUDIO:    BadAudio,
		dalabapb.FailureReason_FAILURE_REASON_AUDIO_DEVICE: AudioDevice,
		dalabapb.FailureReason_FAILURE_REASON_EXPIRED:      Expired,
		dalabapb.FailureReason_FAILURE_REASON_FETCH_FAILED: FetchFailed,
		dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED:  Interrupted,
		dalabapb.FailureReason(42):                         NoReason,
	}
	for in, want := range reasons {
		if got := reasonFromWire(in); got != want {
			t.Errorf("reasonFromWire(%v) = %q, want %q", in, got, want)
		}
	}
	// A terminal can never claim the controller's verdicts over the wire.
	for _, r := range reasons {
		if r.controllerVerdict() {
			t.Errorf("wire reason maps to controller verdict %q", r)
		}
	}
}

func TestReasonChinese(t *testing.T) {
	for _, r := range []Reason{BadAudio, AudioDevice, Expired, FetchFailed, Interrupted, Disconnected, NoReport, FailedToSound} {
		if r.Chinese() == "" {
			t.Errorf("%q has no Chinese text", r)
		}
	}
	if NoReason.Chinese() != "" {
		t.Errorf("NoReason.Chinese() = %q, want empty", NoReason.Chinese())
	}
}

func TestReasonUnheard(t *testing.T) {
	want := map[Reason]bool{NoReason: false, BadAudio: false, AudioDevice: true, Expired: false, FetchFailed: false,
		Interrupted: true, Disconnected: false, NoReport: false, FailedToSound: true}
	for r, w := range want {
		if r.Unheard() != w {
			t.Errorf("%q.Unheard() = %v, want %v", r, r.Unheard(), w)
		}
	}
	if FailedToSound.controllerVerdict() {
		t.Errorf("failed_to_sound is judged on the terminal's own proof; a repeated done must not overrule it")
	}
}
