package agent

import (
	"context"
	"math"
	"sort"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/priority"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink"
)

// job is one broadcast on this terminal, from its command until its final receipt. Only the
// arbiter's goroutine touches it.
type job struct {
	cmd   *dalabapb.PlayCommand
	level priority.Level
	order int64 // place among its level: arrival order; negative once preempted (head of its level)

	pcm      []byte             // the program, once fetched (nil for live)
	fetching context.CancelFunc // set while a fetch runs
	finished bool               // its final receipt went out; late results are ignored

	rep        int       // repetitions finished
	pos        int64     // bytes into the program where the next segment starts
	started    bool      // the playing receipt went out
	preempted  bool      // cut off at least once: off the synchronised grid, resumes at once
	resumed    bool      // cut off since it last played: say playing again when it resumes
	lastEnd    time.Time // real time the last segment ended
	stopReason string    // a stop command came while it had the horn
	proof      proof
}

func (j *job) id() string  { return j.cmd.BroadcastId }
func (j *job) live() bool  { return j.cmd.LiveId != "" }
func (j *job) ready() bool { return j.live() || j.pcm != nil }

// repeats is how many times the program plays in all.
func (j *job) repeats() int { return max(1, int(j.cmd.Repeat)) }

// period is the program's length plus the silence after it: the distance between the starts
// of two repetitions.
func (j *job) period() time.Duration {
	return bytesDuration(int64(len(j.pcm))) + time.Duration(j.cmd.RepeatIntervalMs)*time.Millisecond
}

func bytesDuration(n int64) time.Duration {
	return time.Duration(n * int64(time.Second) / wire.BytesPerSecond)
}

// rewindBytes is priority.ResumeRewind of program, in whole samples.
var rewindBytes = int64(priority.ResumeRewind) * wire.BytesPerSecond / int64(time.Second) &^ 1

// span is a stretch of the program that went to the device, in bytes [from, to).
type span struct{ from, to int64 }

// proof adds up what a broadcast put out over its segments, for the final receipt: bytes are
// the program covered (a stretch replayed after a preemption's rewind counts once; each
// repetition counts again), peak is the highest, RMS is over every sample written.
type proof struct {
	done      int64  // bytes covered by finished repetitions
	spans     []span // covered in the repetition in progress
	peak      float64
	sumSq     float64 // sum of squared samples, full scale 1
	samples   int64
	first     time.Time // real time the first segment started
	last      time.Time // real time the last segment ended
	volume    int32
	lateUs    int64
	concealed int32
}

// add counts one segment that started at byte from of the program (or of the live stream).
func (p *proof) add(from int64, pl sink.Played, volume int32) {
	if pl.Start.IsZero() {
		return // never reached the device
	}
	if p.first.IsZero() {
		p.first = pl.Start
	}
	p.last = pl.End
	p.volume = volume
	if pl.Bytes == 0 {
		return
	}
	p.spans = append(p.spans, span{from, from + pl.Bytes})
	p.peak = max(p.peak, pl.Peak)
	n := pl.Bytes / 2
	p.sumSq += pl.RMS * pl.RMS * float64(n)
	p.samples += n
}

// endRep closes the repetition in progress.
func (p *proof) endRep() {
	p.done += covered(p.spans)
	p.spans = nil
}

func (p *proof) bytes() int64 { return p.done + covered(p.spans) }

func (p *proof) played() bool { return !p.first.IsZero() }

func covered(spans []span) int64 {
	s := append([]span(nil), spans...)
	sort.Slice(s, func(i, j int) bool { return s[i].from < s[j].from })
	var n, end int64 = 0, math.MinInt64
	for _, x := range s {
		if x.from > end {
			n += x.to - x.from
		} else if x.to > end {
			n += x.to - end
		}
		end = max(end, x.to)
	}
	return n
}

// report is the proof as the receipt carries it; times on the agent's clock (real + offset).
// Nil when nothing reached the device.
func (p *proof) report(offset time.Duration) *dalabapb.PlayReport {
	if !p.played() {
		return nil
	}
	n := p.bytes()
	r := &dalabapb.PlayReport{Bytes: n, DurationMs: bytesDuration(n).Milliseconds(), Peak: p.peak, Volume: p.volume,
		StartedUnixMs: p.first.Add(offset).UnixMilli(), EndedUnixMs: p.last.Add(offset).UnixMilli(),
		LateUs: p.lateUs, FramesConcealed: p.concealed}
	if p.samples > 0 {
		r.Rms = math.Sqrt(p.sumSq / float64(p.samples))
	}
	return r
}
