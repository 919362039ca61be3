// Package live relays live shouting (喊话): a staff member's voice, Opus frames streamed by
// their client over LiveService.Shout, to every terminal listening over AudioService.Listen.
//
// A shout is opened first (Open, behind POST /api/v1/shouts), which dispatches a play command
// with the shout's id to the targets; their agents call Listen and wait. The speaker's client
// then streams, naming the shout and its key. The controller stamps the play times: frame n
// sounds at the arrival of the first frame + Delay + n × 20 ms on the controller's clock, so
// every horn says each word at the same moment. A listener that cannot keep up loses frames
// (counted), never holds up the others. The stream ends cleanly when the speaker's client
// closes it; if the speaker's link drops, listeners are told the stream is lost.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// Timing of live shouts.
const (
	// DefaultDelay is from the first frame's arrival to its play time: what a frame may spend
	// being fanned out to every listener, crossing the network (20 ms of jitter included) and
	// being decoded before it must sound, and the 20 ms every other frame waits for the next to
	// share its message (listen.go). Chosen from BenchmarkLiveShout125 (docs/BENCHMARKS.md): 125
	// listeners on a 2-core machine.
	DefaultDelay = 80 * time.Millisecond
	// ConnectTimeout is how long an opened shout waits for its speaker before it is abandoned.
	ConnectTimeout = 30 * time.Second
	// SpeakerIdle is how long the speaker's client may send nothing before its link counts as
	// dropped: a client sends a frame every 20 ms while the shout lasts, silence included. It
	// is longer than MaxShift: a link that stalls for less, then delivers, loses no words.
	SpeakerIdle = 3 * time.Second
	// ListenerQueue is how many frames (20 ms each) wait for a slow listener before its
	// frames are dropped.
	ListenerQueue = 25
	// MaxShift bounds how much later a shout may come to play because its frames arrived late
	// (the speaker's client or link stalled); past it, late frames are dropped.
	MaxShift = 2 * time.Second
	// MaxAhead bounds how far ahead of its play time a frame may arrive: a client sending
	// faster than real time is refused rather than buffered without end.
	MaxAhead = 2 * time.Second
	// forgetAfter is how long an ended shout is remembered, so that a late listener is told it
	// ended instead of that it never existed.
	forgetAfter = time.Minute
	// recentFrames are kept for a listener joining mid-shout: those not yet due play at once.
	recentFrames = 16
)

// FrameDuration is one live frame (Opus, 20 ms).
const FrameDuration = 20 * time.Millisecond

// OpenRequest asks for a new shout.
type OpenRequest struct {
	Title   string
	Targets []wire.Address
	By      string // the staff user who speaks
}

// Opened is a shout ready for its speaker: the client streams to it with ID and StreamKey.
type Opened struct {
	ID        string `json:"id"`
	StreamKey string `json:"stream_key"`
}

// Opener opens shouts; the HTTP API calls it after checking the staff member's scope.
type Opener interface {
	Open(ctx context.Context, req OpenRequest) (Opened, error)
}

// DispatchFunc sends the play command of live shout liveID (priority.Shout) to targets and
// returns the broadcast's id, which should be liveID so that receipts land under it.
type DispatchFunc func(ctx context.Context, targets []wire.Address, title, liveID string) (broadcastID string, err error)

// Hub holds the shouts in progress. It serves LiveService (speakers) and the Listen method of
// AudioService (terminals). Set Dispatch (and Delay, if not DefaultDelay) before use.
type Hub struct {
	dalabapb.UnimplementedLiveServiceServer

	Dispatch DispatchFunc
	Delay    time.Duration
	Log      *slog.Logger

	mu      sync.Mutex
	shouts  map[string]*shout
	stopped bool
}

// NewHub returns a hub with no shouts; log nil means slog.Default.
func NewHub(dispatch DispatchFunc, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{Dispatch: dispatch, Delay: DefaultDelay, Log: log, shouts: map[string]*shout{}}
}

// ErrNoDispatcher is returned by Open on a hub with no Dispatch.
var ErrNoDispatcher = errors.New("live: the hub has no dispatcher")

// Open creates a shout and sends its play command to the targets; their terminals start
// listening and wait for the speaker. The shout is abandoned (listeners told it is lost) if no
// speaker streams to it within ConnectTimeout.
func (h *Hub) Open(ctx context.Context, req OpenRequest) (Opened, error) {
	if h.Dispatch == nil {
		return Opened{}, ErrNoDispatcher
	}
	if len(req.Targets) == 0 {
		return Opened{}, errors.New("live: a shout needs at least one target")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Opened{}, fmt.Errorf("live: new shout id: %w", err)
	}
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		return Opened{}, fmt.Errorf("live: stream key: %w", err)
	}
	s := h.add(id.String(), hex.EncodeToString(k[:]), req)
	if s == nil {
		return Opened{}, errors.New("live: the controller is stopping")
	}
	bid, err := h.Dispatch(ctx, req.Targets, req.Title, s.id)
	if err != nil {
		s.finish(false, "its play command could not be sent")
		return Opened{}, err
	}
	if bid != s.id {
		h.log().Warn("shout dispatched under another broadcast id: receipts land there", "live", s.id, "broadcast", bid)
	}
	h.log().Info("shout opened", "live", s.id, "by", req.By, "title", req.Title, "targets", fmt.Sprint(req.Targets))
	return Opened{ID: s.id, StreamKey: s.key}, nil
}

func (h *Hub) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

func (h *Hub) delay() time.Duration {
	if h.Delay <= 0 {
		return DefaultDelay
	}
	return h.Delay
}

// add registers a new shout, waiting for its speaker; nil once the hub has stopped.
func (h *Hub) add(id, key string, req OpenRequest) *shout {
	s := newShout(h, id, key, req)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil
	}
	if h.shouts == nil {
		h.shouts = map[string]*shout{}
	}
	h.shouts[id] = s
	s.timer = time.AfterFunc(ConnectTimeout, func() { s.abandonIfSilent() })
	return s
}

func (h *Hub) get(id string) *shout {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.shouts[id]
}

func (h *Hub) forget(s *shout) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shouts[s.id] == s {
		delete(h.shouts, s.id)
	}
}

// Stop ends every shout as lost (the controller is going away) and refuses new ones.
func (h *Hub) Stop() {
	h.mu.Lock()
	h.stopped = true
	all := make([]*shout, 0, len(h.shouts))
	for _, s := range h.shouts {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.finish(false, "the controller is stopping")
	}
}

// Stats describes one shout, for tests, benchmarks and logs.
type Stats struct {
	Frames      int           // frames relayed
	Late        int           // frames that arrived after their play time
	LateDropped int           // of those, left out: a frame's hiccup, or past MaxShift
	Moved       time.Duration // how much later the shout came to play, in all, for late frames
	CaughtUp    time.Duration // how much of that it made up by leaving out pauses
	Listeners   int           // listening now (or waiting for the speaker)
	Dropped     int64         // frames dropped for listeners that could not keep up, over all listeners
	Ended       bool          // the speaker finished cleanly
	Lost        string
}

// Stats reports on shout id; false if the hub does not know it (never, or long ago).
func (h *Hub) Stats(id string) (Stats, bool) {
	s := h.get(id)
	if s == nil {
		return Stats{}, false
	}
	return s.stats(), true
}

// OpenShout is Open as the HTTP API (api.ShoutOpener) calls it.
func (h *Hub) OpenShout(ctx context.Context, title string, targets []wire.Address, by string) (id, streamKey string, err error) {
	o, err := h.Open(ctx, OpenRequest{Title: title, Targets: targets, By: by})
	return o.ID, o.StreamKey, err
}
