// Package web is the console for township staff (网页控制台): server-rendered pages in Chinese
// over the controller's JSON API. Every page and form calls the API in-process with the
// session token held in a cookie, so sign-in, roles, tier scopes, validation and the audit log
// are the API's own; the console only shows and asks.
package web

import (
	"crypto/rand"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"google.golang.org/grpc"
)

//go:embed templates static
var assets embed.FS

// Options configure the console.
type Options struct {
	// API is the controller's HTTP API handler, behind its input limits: the console calls it
	// for everything it shows or changes.
	API http.Handler
	Log *slog.Logger
	// DialGRPC connects to the controller's gRPC address for a live shout: over TLS trusting
	// caPEM, or plain when caPEM is empty (as ebctl shout does). Nil: shouting is unavailable.
	DialGRPC func(addr, caPEM string) (*grpc.ClientConn, error)
}

// Console serves the pages.
type Console struct {
	api     http.Handler
	log     *slog.Logger
	pages   map[string]*page
	csrfKey []byte

	dialGRPC func(addr, caPEM string) (*grpc.ClientConn, error)
}

// New makes a console.
func New(opts Options) (*Console, error) {
	c := &Console{api: opts.API, log: opts.Log, csrfKey: make([]byte, 32), dialGRPC: opts.DialGRPC}
	if c.log == nil {
		c.log = slog.Default()
	}
	rand.Read(c.csrfKey) // never fails (crypto/rand panics rather than return an error)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = pages
	return c, nil
}

// Handler routes the console. The API's own paths (/api/, /healthz, /metrics) are the
// controller's to route before this.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static") // a fixed path of the embedded tree
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(http.FileServerFS(static))))
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.Handle("POST /logout", c.signedIn(c.logout))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/fleet", http.StatusSeeOther) })
	mux.Handle("GET /fleet", c.signedIn(c.fleet))
	mux.Handle("GET /compose", c.signedIn(c.composePage))
	mux.Handle("POST /compose", c.signedIn(c.compose))
	mux.Handle("POST /tts-preview", c.signedIn(c.ttsPreview))
	mux.Handle("GET /review", c.signedIn(c.reviewQueue))
	mux.Handle("POST /review/{id}/{action}", c.signedIn(c.decide))
	mux.Handle("GET /broadcasts", c.signedIn(c.broadcasts))
	mux.Handle("GET /upper", c.signedIn(c.upper))
	mux.Handle("GET /broadcasts/{id}", c.signedIn(c.report))
	mux.Handle("GET /broadcasts/{id}/live", c.signedIn(c.reportLive))
	mux.Handle("GET /broadcasts/{id}/as-played.csv", c.signedIn(c.asPlayed))
	mux.Handle("POST /broadcasts/{id}/cancel", c.signedIn(c.cancel))
	mux.Handle("GET /emergency", c.signedIn(c.emergencyPage))
	mux.Handle("POST /emergency", c.signedIn(c.emergency))
	mux.Handle("GET /schedules", c.signedIn(c.schedules))
	mux.Handle("POST /schedules", c.signedIn(c.saveSchedule))
	mux.Handle("POST /schedules/{id}/{action}", c.signedIn(c.scheduleAction))
	mux.Handle("GET /shout", c.signedIn(c.shoutPage))
	mux.Handle("GET /shout/ws", c.signedIn(c.shoutSocket))
	return securityHeaders(mux)
}

func cacheFor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders keeps the pages out of frames and limits where scripts come from (the
// console's own files only; there is no internet at a township office anyway).
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}
