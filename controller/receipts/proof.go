package receipts

import (
	"fmt"
	"time"

	"dalaba/proto/dalabapb"
)

// Proof is what a terminal says actually went to its audio device.
type Proof struct {
	Bytes    int64     `json:"bytes"`
	Duration Millis    `json:"duration_ms"`
	Peak     float64   `json:"peak"`
	RMS      float64   `json:"rms"`
	Volume   int32     `json:"volume"`
	Start    time.Time `json:"started_at,omitzero"`
	End      time.Time `json:"ended_at,omitzero"`
	// LateUs is how far after its play-at the first sample sounded, by the terminal's estimate
	// of the controller's clock (negative: early); 0 for a start that was not synchronised.
	LateUs int64 `json:"late_us,omitempty"`
	// FramesConcealed counts live frames lost or late, replaced by Opus loss concealment.
	FramesConcealed int32 `json:"frames_concealed,omitempty"`
}

// Millis is a duration shown in whole milliseconds.
type Millis int64

func proofFromWire(p *dalabapb.PlayReport) *Proof {
	if p == nil {
		return nil
	}
	return &Proof{Bytes: p.Bytes, Duration: Millis(p.DurationMs), Peak: p.Peak, RMS: p.Rms, Volume: p.Volume,
		Start: fromMS(p.StartedUnixMs), End: fromMS(p.EndedUnixMs), LateUs: p.LateUs, FramesConcealed: p.FramesConcealed}
}

// What a done receipt's proof must show for the controller to believe the horn sounded.
const (
	// A play may end a little early (device buffers, the last period) but not by more.
	shortfallTolerance = 250 * time.Millisecond
	// Below -60 dBFS peak nothing is heard from a horn.
	silentPeak = 0.001
)

// verdict checks a done receipt's proof against the program; it returns a failure reason and
// why, or NoReason if the proof holds. A done with no proof at all is not trusted either.
func verdict(b Broadcast, p *Proof) (Reason, string) {
	if p == nil {
		return FailedToSound, "done reported without proof of play"
	}
	played := time.Duration(p.Duration) * time.Millisecond
	if want := expectedPlay(b); played+shortfallTolerance < want {
		return FailedToSound, fmt.Sprintf("too short: played %.2f s of %.2f s", played.Seconds(), want.Seconds())
	}
	if p.Volume == 0 {
		return FailedToSound, "muted: volume 0"
	}
	if b.ProgramPeak > silentPeak && p.Peak < silentPeak {
		return FailedToSound, fmt.Sprintf("silent: peak %.5f at volume %d%%", p.Peak, p.Volume)
	}
	return NoReason, ""
}

// expectedPlay is how much a done terminal must have played: the whole program once, or less
// if the broadcast's end time cut it short (an emergency ends when it is ordered to), and
// nothing for a live shout (its length is what the speaker said).
func expectedPlay(b Broadcast) time.Duration {
	want := b.ProgramDuration
	if !b.EndAt.IsZero() && !b.PlayAt.IsZero() {
		want = min(want, max(0, b.EndAt.Sub(b.PlayAt)))
	}
	return want
}
