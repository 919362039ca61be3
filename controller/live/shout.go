package live

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe"
	"dalaba/proto/wire"
)

type phase int

const (
	waiting  phase = iota // opened, no audio yet
	speaking              // frames flowing; the header is known
	ended                 // the speaker finished cleanly
	lost                  // the speaker's link dropped, or the shout was abandoned
)

// shout is one live shout: its speaker (at most one) and its listeners.
type shout struct {
	hub             *Hub
	id, key         string
	title, by       string
	opened          time.Time
	started, closed chan struct{} // started: the play times are known; closed: ended or lost

	mu          sync.Mutex
	phase       phase
	attached    bool               // a speaker's stream holds the shout
	base        time.Time          // frame 0's play time (controller clock)
	next        uint32             // the next sequence number expected from the speaker
	shift       uint32             // frames relayed this much later than the speaker numbered them
	moved       uint32             // frames the shift grew by, in all
	caughtUp    uint32             // quiet frames left out to shrink it again
	dec         *opusframe.Decoder // to tell quiet frames, once the shout has been moved
	recent      []*dalabapb.LiveFrame
	listeners   map[*listener]struct{}
	waiters     int // Listen calls waiting for the first frame
	frames      int
	late        int
	lateDropped int   // late frames left out rather than moving the shout
	dropped     int64 // over listeners that have left
	why         string
	timer       *time.Timer // abandons the shout without speaker; later forgets it
}

func newShout(h *Hub, id, key string, req OpenRequest) *shout {
	return &shout{hub: h, id: id, key: key, title: req.Title, by: req.By, opened: time.Now(),
		started: make(chan struct{}), closed: make(chan struct{}), listeners: map[*listener]struct{}{}}
}

// listener is one terminal's Listen stream.
type listener struct {
	terminal string
	q        chan *dalabapb.LiveFrame
	dropped  int64 // guarded by the shout's mu
}

// newHeader describes the shout's play times; caller holds mu, base is set.
func (s *shout) newHeader() *dalabapb.LiveHeader {
	return &dalabapb.LiveHeader{LiveId: s.id, BasePlayAtUnixUs: s.base.UnixMicro(),
		FrameUs: int32(FrameDuration / time.Microsecond), SampleRate: wire.SampleRate}
}

func (s *shout) playAt(seq uint32) time.Time {
	return s.base.Add(time.Duration(seq) * FrameDuration)
}

// attach gives the shout to a speaker's stream; only one ever speaks.
func (s *shout) attach() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.phase == ended || s.phase == lost:
		return errOver
	case s.attached:
		return errTaken
	}
	s.attached = true
	return nil
}

var (
	errOver  = fmt.Errorf("the shout is over")
	errTaken = fmt.Errorf("another speaker is already streaming to this shout")
)

// take relays one frame from the speaker, arrived at now. The first frame fixes the play
// times. A frame that arrives more than a frame after its play time (the speaker's client or
// its link stalled) moves the rest of the shout later, so that it plays the live delay from now: the horns fill
// the pause with loss concealment and go on with every word, a little later; once the client
// has caught up, the shout makes the time up again in the pauses between words. Past MaxShift
// behind, late frames are dropped instead. A frame far ahead of its play time means the client
// sends faster than real time, an error.
func (s *shout) take(seq uint32, opus []byte, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase == ended || s.phase == lost {
		return errOver
	}
	if s.phase == waiting {
		s.base = now.Add(s.hub.delay() - time.Duration(seq)*FrameDuration)
		s.next = seq
		s.phase = speaking
		close(s.started)
	}
	if seq < s.next {
		return nil // a repeat: already relayed or given up
	}
	// Ahead of the speaker's own timeline, not the moved one: after a stall the client sends
	// on time again, which is well ahead of where the shout was moved.
	if ahead := s.playAt(seq).Sub(now); ahead > MaxAhead+s.hub.delay() {
		return fmt.Errorf("frame %d arrived %v before it is due: the client sends faster than real time", seq, ahead.Round(time.Millisecond))
	}
	s.next = seq + 1
	if at := s.playAt(seq + s.shift); at.Before(now) {
		s.late++
		if now.Sub(at) <= FrameDuration {
			s.lateDropped++
			return nil // a hiccup: one frame, which the horns conceal, rather than a move
		}
		behind := now.Add(s.hub.delay()).Sub(at)
		n := uint32((behind + FrameDuration - 1) / FrameDuration)
		if time.Duration(s.shift+n)*FrameDuration > MaxShift {
			s.lateDropped++
			return nil
		}
		s.shift += n
		s.moved += n
		s.hub.log().Warn("speaker late: the rest of the shout plays later", "live", s.id, "frame", seq,
			"late", behind-s.hub.delay(), "moved", time.Duration(n)*FrameDuration, "behind_now", time.Duration(s.shift)*FrameDuration)
	} else if s.shift > 0 && at.Sub(now) >= s.hub.delay()+FrameDuration && s.quiet(opus) {
		// Moved later, the shout catches up in the pauses between words once the speaker's
		// client has caught up (its frames come more than the live delay early): a quiet
		// frame is left out, and everything after it plays a frame sooner.
		s.shift--
		s.caughtUp++
		return nil
	}
	seq += s.shift
	f := &dalabapb.LiveFrame{Seq: seq, Opus: opus}
	if len(s.recent) == recentFrames {
		copy(s.recent, s.recent[1:])
		s.recent = s.recent[:recentFrames-1]
	}
	s.recent = append(s.recent, f)
	s.frames++
	for l := range s.listeners {
		select {
		case l.q <- f:
		default:
			l.dropped++
		}
	}
	return nil
}

// join adds a listener once the header is known. It returns the header (first_seq set for
// this listener) and the recent frames still to be played.
func (s *shout) join(terminal string, now time.Time) (*listener, *dalabapb.LiveHeader, []*dalabapb.LiveFrame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &listener{terminal: terminal, q: make(chan *dalabapb.LiveFrame, ListenerQueue)}
	var backlog []*dalabapb.LiveFrame
	for _, f := range s.recent {
		if !s.playAt(f.Seq).Before(now) {
			backlog = append(backlog, f)
		}
	}
	h := s.newHeader()
	h.FirstSeq = s.next + s.shift
	if len(backlog) > 0 {
		h.FirstSeq = backlog[0].Seq
	}
	s.listeners[l] = struct{}{}
	return l, h, backlog
}

func (s *shout) waiting(n int) {
	s.mu.Lock()
	s.waiters += n
	s.mu.Unlock()
}

func (s *shout) leave(l *listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.listeners[l]; ok {
		delete(s.listeners, l)
		s.dropped += l.dropped
		if l.dropped > 0 {
			s.hub.log().Warn("listener could not keep up: frames dropped", "live", s.id, "terminal", l.terminal, "dropped", l.dropped)
		}
	}
}

// finish ends the shout: cleanly (ok) or lost, saying why. Only the first call counts.
func (s *shout) finish(ok bool, why string) {
	s.mu.Lock()
	if s.phase == ended || s.phase == lost {
		s.mu.Unlock()
		return
	}
	if s.phase == waiting && ok { // a speaker who said nothing: listeners still need a header
		s.base = time.Now()
		close(s.started)
	}
	s.phase, s.why = lost, why
	if ok {
		s.phase = ended
	}
	close(s.closed)
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(forgetAfter, func() { s.hub.forget(s) })
	dropped := s.dropped
	for l := range s.listeners {
		dropped += l.dropped
	}
	log := s.hub.log().With("live", s.id, "by", s.by, "frames", s.frames, "late", s.late, "moved", time.Duration(s.moved)*FrameDuration, "caught_up", time.Duration(s.caughtUp)*FrameDuration, "listeners", len(s.listeners), "dropped", dropped,
		"seconds", time.Since(s.opened).Round(time.Millisecond).Seconds())
	s.mu.Unlock()
	if ok {
		log.Info("shout ended")
	} else {
		log.Warn("shout lost", "why", why)
	}
}

// quietPeak is the loudest a frame may be and still count as a pause between words: about
// -48 dBFS, under speech and over a quiet room's noise.
const quietPeak = 128

// quiet reports whether a frame is a pause. Caller holds mu.
func (s *shout) quiet(opus []byte) bool {
	if s.dec == nil {
		d, err := opusframe.NewDecoder()
		if err != nil {
			return false
		}
		s.dec = d
	}
	pcm, err := s.dec.Decode(opus)
	if err != nil {
		return false
	}
	for i := 0; i+1 < len(pcm); i += 2 {
		if v := int16(binary.LittleEndian.Uint16(pcm[i:])); v > quietPeak || v < -quietPeak {
			return false
		}
	}
	return true
}

// abandonIfSilent ends a shout that no speaker has streamed to since it was opened.
func (s *shout) abandonIfSilent() {
	s.mu.Lock()
	idle := s.phase == waiting && !s.attached
	s.mu.Unlock()
	if idle {
		s.finish(false, fmt.Sprintf("no speaker within %v of opening", ConnectTimeout))
	}
}

// outcome is how the shout ended, once closed is closed: the sequence number after the last
// frame, and why it was lost ("" if it ended cleanly).
func (s *shout) outcome() (end uint32, lostWhy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase == lost {
		return s.next + s.shift, s.why
	}
	return s.next + s.shift, ""
}

func (s *shout) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Frames: s.frames, Late: s.late, LateDropped: s.lateDropped, Listeners: len(s.listeners) + s.waiters, Dropped: s.dropped, Ended: s.phase == ended,
		Moved: time.Duration(s.moved) * FrameDuration, CaughtUp: time.Duration(s.caughtUp) * FrameDuration}
	if s.phase == lost {
		st.Lost = s.why
	}
	for l := range s.listeners {
		st.Dropped += l.dropped
	}
	return st
}
