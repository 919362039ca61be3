package cascade

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"dalaba/controller/dispatch"
	"dalaba/controller/health"
	"dalaba/controller/inventory"
	"dalaba/controller/presence"
	"dalaba/controller/receipts"
	"dalaba/controller/store"
	"dalaba/controller/tts"
)

// Deps are the controller's parts the cascade works through: emergencies from above take the
// same dispatch path as this town's.
type Deps struct {
	Config     *Config
	Signer     *Signer
	DB         *store.DB
	Inventory  func() *inventory.Inventory
	Dispatcher *dispatch.Dispatcher
	Book       *receipts.Book
	Presence   *presence.Tracker
	Health     *health.Board
	TTS        *tts.Synthesizer // nil: messages without audio cannot play here
	// Audit writes an entry in the audit log (review.Service.Record).
	Audit  func(ctx context.Context, actor, action, object string, details any) error
	Log    *slog.Logger
	Client *http.Client // to upstream and downstream platforms; a 10 s timeout when nil
}

// Service is the cascade of one controller.
type Service struct {
	Deps
	trust *Trust
	ctx   context.Context
	seq   atomic.Int64 // last EBDID sequence, µs since the epoch

	sendMu sync.Mutex // held while a state report is made and sent
	mu     sync.Mutex
	peers  map[string]PeerStatus // downstream platforms' heartbeats and terminal states
	sent   map[string]string     // message id -> the last state reported upstream
}

// PeerStatus is what a platform below last said about itself.
type PeerStatus struct {
	LastHeartbeat   time.Time
	TerminalsOn     int // state on or broadcasting
	TerminalsTotal  int
	LastStateReport time.Time
}

// New checks the configuration's certificates, applies the cascade's tables and starts the
// periodic reports; everything stops with ctx.
func New(ctx context.Context, d Deps) (*Service, error) {
	trust, err := d.Config.Trust()
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, d.DB); err != nil {
		return nil, err
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Service{Deps: d, trust: trust, ctx: ctx, peers: map[string]PeerStatus{}, sent: map[string]string{}}
	if d.Config.Upstream.URL != "" {
		go s.heartbeats(ctx)
	}
	return s, nil
}

// Handler serves the intake: POST /api/v1/cascade/ebd and /api/v1/cascade/cap. No session:
// every message is authenticated by its signature.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/cascade/ebd", s.serveEBD)
	mux.HandleFunc("POST /api/v1/cascade/cap", s.serveCAP)
	return mux
}

// newEBDID is 2-digit type, this platform's 18-digit ID and a 16-digit sequence (µs since
// the epoch, strictly increasing).
func (s *Service) newEBDID() string {
	for {
		last, now := s.seq.Load(), time.Now().UnixMicro()
		if now <= last {
			now = last + 1
		}
		if s.seq.CompareAndSwap(last, now) {
			return NewEBDID(s.Config.PlatformID, now)
		}
	}
}

// envelope is a new header from this platform.
func (s *Service) envelope(typ, dest, related string) Header {
	h := Header{EBDID: s.newEBDID(), EBDType: typ, SRC: s.Config.PlatformID, DEST: dest, EBDTime: FormatTime(time.Now())}
	if related != "" {
		h.RelatedEBD = &EBDRef{EBDID: related}
	}
	return h
}

// pack encodes and signs an envelope, with files attached.
func (s *Service) pack(e *EBD, files map[string][]byte) (*Package, error) {
	return s.Signer.Pack(e, files, time.Now())
}
