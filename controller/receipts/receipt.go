// Package receipts keeps, per broadcast and terminal, how far the terminal got:
//
//	pending ──> received ──> fetched ──> playing ⇄ preempted ──> done
//	   │            └───────────┴────────────┴───────────┴─────> failed (reason)
//	   │                                                  └─────> cancelled
//	   └─ offline (the terminal was offline when the broadcast was sent; it may still
//	               catch up inside the validity window)
//
// Agents report received/fetched/playing/preempted/done/failed/cancelled; the controller itself
// writes pending, offline, cancelled (for terminals a cancel reached before they had it), and
// failed with reason disconnected or no_report.
package receipts

import (
	"time"

	"dalaba/proto/dalabapb"
)

// State is where one terminal stands in one broadcast.
type State string

const (
	Pending  State = "pending"
	Offline  State = "offline"
	Received State = "received"
	Fetched  State = "fetched"
	Playing  State = "playing"
	Done     State = "done"
	Failed   State = "failed"
	// Preempted: a higher priority cut in while it played; it resumes afterwards.
	Preempted State = "preempted"
	Cancelled State = "cancelled"
)

// States lists every state, in the order reports show them.
var States = []State{Pending, Received, Fetched, Playing, Preempted, Done, Failed, Cancelled, Offline}

// rank orders states so that late or repeated reports never move a receipt backwards.
func (s State) rank() int {
	switch s {
	case Received:
		return 1
	case Fetched:
		return 2
	case Playing, Preempted:
		return 3
	case Done, Failed, Cancelled:
		return 4
	}
	return 0 // pending, offline
}

// Final reports whether nothing more is expected for this receipt.
func (s State) Final() bool { return s == Done || s == Failed || s == Offline || s == Cancelled }

// Reason says why a terminal did not play. Values are stable: they appear in the API and store.
type Reason string

const (
	NoReason     Reason = ""
	BadAudio     Reason = "bad_audio"
	AudioDevice  Reason = "audio_device"
	Expired      Reason = "expired"
	FetchFailed  Reason = "fetch_failed"
	Interrupted  Reason = "interrupted"
	Disconnected Reason = "disconnected" // went offline before reporting done
	NoReport     Reason = "no_report"    // online, but silent until the window closed
	// FailedToSound is a play whose proof does not match the program: too short, silent,
	// muted. The detail says which.
	FailedToSound Reason = "failed_to_sound"
	// Preempted: a live shout cut off by a higher priority (live speech cannot resume).
	PreemptedLive Reason = "preempted"
	StreamLost    Reason = "stream_lost" // the live stream's link dropped before it ended
)

// Unheard reports whether the terminal played (or tried to) but the horn did not sound the
// program: the siren world's "failed to sound" alarm.
func (r Reason) Unheard() bool {
	return r == FailedToSound || r == AudioDevice || r == Interrupted || r == StreamLost
}

// controllerVerdict marks reasons the controller concluded itself; a later report from the
// terminal (it came back and did play) overrides them.
func (r Reason) controllerVerdict() bool { return r == Disconnected || r == NoReport }

// Chinese is the reason as township staff read it.
func (r Reason) Chinese() string {
	return map[Reason]string{
		BadAudio: "音频文件损坏", AudioDevice: "音频设备故障", Expired: "已过有效期，未播放",
		FetchFailed: "音频下载失败", Interrupted: "播放中断", Disconnected: "播放中终端离线",
		NoReport: "终端无回执", FailedToSound: "未能正常发声", PreemptedLive: "被更高优先级广播打断",
		StreamLost: "喊话连接中断",
	}[r]
}

func stateFromWire(s dalabapb.ReceiptState) (State, bool) {
	switch s {
	case dalabapb.ReceiptState_RECEIPT_STATE_RECEIVED:
		return Received, true
	case dalabapb.ReceiptState_RECEIPT_STATE_FETCHED:
		return Fetched, true
	case dalabapb.ReceiptState_RECEIPT_STATE_PLAYING:
		return Playing, true
	case dalabapb.ReceiptState_RECEIPT_STATE_DONE:
		return Done, true
	case dalabapb.ReceiptState_RECEIPT_STATE_FAILED:
		return Failed, true
	case dalabapb.ReceiptState_RECEIPT_STATE_PREEMPTED:
		return Preempted, true
	case dalabapb.ReceiptState_RECEIPT_STATE_CANCELLED:
		return Cancelled, true
	}
	return "", false
}

func reasonFromWire(r dalabapb.FailureReason) Reason {
	switch r {
	case dalabapb.FailureReason_FAILURE_REASON_BAD_AUDIO:
		return BadAudio
	case dalabapb.FailureReason_FAILURE_REASON_AUDIO_DEVICE:
		return AudioDevice
	case dalabapb.FailureReason_FAILURE_REASON_EXPIRED:
		return Expired
	case dalabapb.FailureReason_FAILURE_REASON_FETCH_FAILED:
		return FetchFailed
	case dalabapb.FailureReason_FAILURE_REASON_INTERRUPTED:
		return Interrupted
	case dalabapb.FailureReason_FAILURE_REASON_PREEMPTED:
		return PreemptedLive
	case dalabapb.FailureReason_FAILURE_REASON_STREAM_LOST:
		return StreamLost
	}
	return NoReason
}

// Receipt is one terminal's standing in one broadcast.
type Receipt struct {
	Terminal   string    `json:"terminal"`
	Village    string    `json:"village"`
	State      State     `json:"state"`
	Reason     Reason    `json:"reason,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
	FetchedAt  time.Time `json:"fetched_at,omitzero"`
	PlayingAt  time.Time `json:"playing_at,omitzero"`
	DoneAt     time.Time `json:"done_at,omitzero"`
	Played     *Proof    `json:"played,omitempty"`
}

// advance applies a report if it moves the receipt forward; it says whether anything changed.
// A report from the terminal also overrides the controller's own verdict (disconnected,
// no report): the terminal came back and tells what really happened.
func (r *Receipt) advance(s State, reason Reason, detail string, at time.Time, fromTerminal bool) bool {
	forward := s.rank() > r.State.rank()
	overrule := fromTerminal && r.Reason.controllerVerdict() && s.rank() > 0
	// Playing and preempted alternate while higher priorities cut in and the program resumes.
	swap := (r.State == Playing && s == Preempted) || (r.State == Preempted && s == Playing)
	// A cancel the controller recorded for a terminal that then reports its own cancel, with
	// the proof of what it played first, takes the terminal's word.
	own := fromTerminal && r.State == Cancelled && s == Cancelled
	if !forward && !overrule && !swap && !own {
		return false
	}
	r.State, r.Reason, r.Detail, r.UpdatedAt = s, reason, detail, at
	switch s {
	case Received:
		r.ReceivedAt = at
	case Fetched:
		r.FetchedAt = at
	case Playing:
		r.PlayingAt = at
	case Done:
		r.DoneAt = at
	}
	return true
}

// backfill sets the times of earlier steps a coalesced report or a proof of play carries,
// translated from the terminal's clock onto ours by their distance from the report's own time,
// so a terminal whose clock is off still gets the right stage times. A step further back than
// the broadcast's age (since its creation) is a clock gone wrong or garbage, and is not taken.
// It says whether it set any.
func (r *Receipt) backfill(w *dalabapb.Receipt, now, created time.Time) (filled bool) {
	at := w.GetAtUnixMs()
	if at == 0 {
		return false
	}
	age := now.Sub(created).Milliseconds()
	back := func(t int64) (time.Time, bool) {
		if t <= 0 || t > at || at-t > age {
			return time.Time{}, false
		}
		return now.Add(-time.Duration(at-t) * time.Millisecond), true
	}
	fill := func(stamp *time.Time, unixMs int64) {
		if t, ok := back(unixMs); ok && stamp.IsZero() {
			*stamp, filled = t, true
		}
	}
	fill(&r.ReceivedAt, w.GetReceivedUnixMs())
	fill(&r.FetchedAt, w.GetFetchedUnixMs())
	// A report with proof of play says when playing began: its playing report may have been
	// handled after it (an external broker's messages are taken concurrently), and would then
	// be stale and ignored.
	fill(&r.PlayingAt, w.GetPlayed().GetStartedUnixMs())
	return filled
}
