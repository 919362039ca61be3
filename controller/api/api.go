// Package api is the controller's HTTP JSON API.
package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"dalaba/controller/control"
	"dalaba/controller/dispatch"
	"dalaba/controller/health"
	"dalaba/controller/inventory"
	"dalaba/controller/presence"
	"dalaba/controller/receipts"
	"dalaba/controller/review"
	"dalaba/controller/schedule"
	"dalaba/controller/store"
	"dalaba/controller/tts"
)

// Server serves the API.
type Server struct {
	Inventory  func() *inventory.Inventory
	Presence   *presence.Tracker
	Dispatcher *dispatch.Dispatcher
	Book       *receipts.Book
	DB         *store.DB
	Log        *slog.Logger

	// Terminal health and remote control (control.go, events.go).
	Health *health.Board
	Events *health.Events
	Remote *control.Remote

	// Schedules: cron and one-off slots, schedule files (schedule*.go).
	Schedules *schedule.Runner

	// Staff, announcements, review and the public archive (auth.go, review*.go).
	Review *review.Service
	// Publish sends an approved announcement now; TTS speaks previews (publish.go). TTS is nil
	// when no speech engine works here.
	Publish Publisher
	TTS     *tts.Synthesizer

	// Shouts opens live shouts (shout.go); nil answers 503. GRPCAddr is where speakers stream
	// to, told to them when a shout opens.
	Shouts   ShoutOpener
	GRPCAddr string
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/terminals", s.listTerminals)
	mux.HandleFunc("POST /api/v1/broadcasts", s.createBroadcast)
	mux.HandleFunc("GET /api/v1/broadcasts", s.listBroadcasts)
	mux.HandleFunc("GET /api/v1/broadcasts/{id}", s.getBroadcast)
	mux.HandleFunc("GET /api/v1/broadcasts/{id}/as-played.csv", s.asPlayedCSV)
	mux.HandleFunc("POST /api/v1/terminals/{id}/volume", s.setVolume)
	mux.HandleFunc("POST /api/v1/terminals/{id}/clock-check", s.clockCheck)
	mux.HandleFunc("POST /api/v1/terminals/{id}/self-test", s.selfTest)
	mux.HandleFunc("GET /api/v1/events", s.listEvents)
	// Staff log in for these (auth.go); the routes above are not behind login yet.
	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.HandleFunc("POST /api/v1/users", s.authed(s.createUser, review.Admin))
	mux.HandleFunc("GET /api/v1/users", s.authed(s.listUsers, review.Admin))
	mux.HandleFunc("GET /api/v1/audit", s.authed(s.listAudit, review.Reviewer, review.Admin))
	mux.HandleFunc("POST /api/v1/announcements", s.authed(s.createAnnouncement))
	mux.HandleFunc("GET /api/v1/announcements", s.authed(s.listAnnouncements))
	mux.HandleFunc("GET /api/v1/announcements/{id}", s.authed(s.getAnnouncement))
	mux.HandleFunc("PUT /api/v1/announcements/{id}", s.authed(s.editAnnouncement))
	mux.HandleFunc("POST /api/v1/announcements/{id}/submit", s.authed(s.submitAnnouncement))
	mux.HandleFunc("POST /api/v1/announcements/{id}/approve", s.authed(s.approveAnnouncement, review.Reviewer, review.Admin))
	mux.HandleFunc("POST /api/v1/announcements/{id}/reject", s.authed(s.rejectAnnouncement, review.Reviewer, review.Admin))
	mux.HandleFunc("POST /api/v1/announcements/{id}/publish", s.authed(s.publishAnnouncement, review.Reviewer, review.Admin))
	mux.HandleFunc("POST /api/v1/tts/preview", s.authed(s.ttsPreview))
	// Emergencies, cancels and shouts: staff only, targets inside the user's scope (scope.go).
	mux.HandleFunc("POST /api/v1/emergencies", s.authed(s.createEmergency))
	mux.HandleFunc("POST /api/v1/broadcasts/{id}/cancel", s.authed(s.cancelBroadcast))
	mux.HandleFunc("POST /api/v1/shouts", s.authed(s.createShout))
	mux.HandleFunc("GET /api/v1/public/announcements", s.publicAnnouncements) // the public archive: no login
	mux.HandleFunc("POST /api/v1/schedules", s.createSchedule)
	mux.HandleFunc("GET /api/v1/schedules", s.listSchedules)
	mux.HandleFunc("GET /api/v1/schedules/week", s.scheduleWeek)
	mux.HandleFunc("POST /api/v1/schedules/reload", s.reloadSchedules)
	mux.HandleFunc("GET /api/v1/schedules/{id}", s.getSchedule)
	mux.HandleFunc("DELETE /api/v1/schedules/{id}", s.deleteSchedule)
	mux.HandleFunc("POST /api/v1/schedules/{id}/pause", s.pauseSchedule)
	mux.HandleFunc("POST /api/v1/schedules/{id}/resume", s.resumeSchedule)
	mux.HandleFunc("GET /api/v1/schedules/{id}/slots", s.scheduleSlots)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "terminals": s.Inventory().Len(), "online": s.Presence.OnlineCount()})
	})
	return mux
}

// apiError is every error body: a message for staff in Chinese, and the detail for operators.
type apiError struct {
	Error  string `json:"error"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var in *dispatch.InputError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &in):
		writeJSON(w, http.StatusBadRequest, apiError{Error: in.Message, Field: in.Field, Detail: in.Error()})
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "上传内容过大", Detail: err.Error()})
	case errors.Is(err, receipts.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "找不到该广播", Detail: err.Error()})
	default:
		s.Log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "系统内部错误，请联系管理员", Detail: err.Error()})
	}
}
