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
	GRPCCA   string // PEM of the CA that issued the gRPC server's certificate; empty: plain gRPC

	// Credentials provisions and revokes terminals' tokens (credentials.go).
	Credentials Credentials

	// Upper lists the messages platforms above sent down (upper.go); nil when this controller
	// is not part of a cascade.
	Upper UpperMessages
}

// Handler routes the API. Every route is in Routes, with who may call it: nothing is routed
// around it (auth_matrix_test walks the table and checks the source for other routes).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Pattern, s.guard(rt))
	}
	return mux
}

// Routes is the API: every endpoint, the roles that may call it (docs/SECURITY.md has the same
// table) and how a call that may change something is audited. Targets must also lie inside
// the caller's scope (scope.go, scope_routes.go); lists show only what lies inside it.
func (s *Server) Routes() []Route {
	return []Route{
		// Staff accounts (auth.go, accounts.go).
		{"POST /api/v1/login", anyone, byHandler, s.login},
		{"POST /api/v1/logout", staff, byHandler, s.logout},
		{"GET /api/v1/me", staff, "", s.me},
		{"POST /api/v1/me/password", staff, byHandler, s.changePassword},
		{"GET /api/v1/users", admins, "", s.listUsers},
		{"POST /api/v1/users", admins, byHandler, s.createUser},
		{"PATCH /api/v1/users/{name}", admins, byHandler, s.updateUser},
		{"POST /api/v1/users/{name}/password", admins, byHandler, s.resetPassword},
		{"GET /api/v1/audit", reviewers, "", s.listAudit},

		// Terminals, their health and remote control (terminals.go, events.go, control.go).
		{"GET /api/v1/terminals", staff, "", s.listTerminals},
		{"POST /api/v1/terminals/{id}/volume", admins, "volume terminal:{id}", s.terminalInScope(s.setVolume)},
		{"POST /api/v1/terminals/{id}/clock-check", admins, "clock_check terminal:{id}", s.terminalInScope(s.clockCheck)},
		{"POST /api/v1/terminals/{id}/self-test", admins, "self_test terminal:{id}", s.terminalInScope(s.selfTest)},
		{"POST /api/v1/terminals/provision", admins, "provision terminals", s.provisionTerminals},
		{"POST /api/v1/terminals/{id}/revoke", admins, "revoke terminal:{id}", s.terminalInScope(s.revokeTerminal)},
		{"GET /api/v1/events", staff, "", s.listEvents},

		// Broadcasts: routine uploads, emergencies, shouts, cancels (broadcasts.go, emergency.go,
		// shout.go, cancel.go). Unreviewed content is for reviewers (谁公开谁审核).
		{"POST /api/v1/broadcasts", reviewers, "broadcast broadcast:{created}", s.createBroadcast},
		{"GET /api/v1/broadcasts", staff, "", s.listBroadcasts},
		{"GET /api/v1/broadcasts/{id}", staff, "", s.broadcastInScope(s.getBroadcast)},
		{"GET /api/v1/broadcasts/{id}/as-played.csv", staff, "", s.broadcastInScope(s.asPlayedCSV)},
		{"POST /api/v1/broadcasts/{id}/cancel", reviewers, byHandler, s.cancelBroadcast},
		{"POST /api/v1/emergencies", staff, byHandler, s.createEmergency}, // free text or audio: reviewers (emergency.go)
		{"POST /api/v1/shouts", reviewers, byHandler, s.createShout},
		{"GET /api/v1/upper-messages", staff, "", s.listUpperMessages}, // sent down by the county (upper.go)

		// Announcements and their review (review.go, publish.go); the public archive.
		{"POST /api/v1/announcements", staff, byHandler, s.newAnnouncementInScope(s.createAnnouncement)},
		{"GET /api/v1/announcements", staff, "", s.listAnnouncements},
		{"GET /api/v1/announcements/{id}", staff, "", s.announcementInScope(s.getAnnouncement)},
		{"PUT /api/v1/announcements/{id}", staff, byHandler, s.announcementInScope(s.newAnnouncementInScope(s.editAnnouncement))},
		{"POST /api/v1/announcements/{id}/submit", staff, byHandler, s.announcementInScope(s.submitAnnouncement)},
		{"POST /api/v1/announcements/{id}/approve", reviewers, byHandler, s.announcementInScope(s.approveAnnouncement)},
		{"POST /api/v1/announcements/{id}/reject", reviewers, byHandler, s.announcementInScope(s.rejectAnnouncement)},
		{"POST /api/v1/announcements/{id}/publish", reviewers, "publish announcement:{id}", s.announcementInScope(s.publishAnnouncement)},
		{"POST /api/v1/tts/preview", staff, "tts_preview tts", s.ttsPreview},
		{"POST /api/v1/programs", staff, "program_upload program:{created}", s.uploadProgram}, // a recording for an announcement (programs.go)
		{"GET /api/v1/public/announcements", anyone, "", plain(s.publicAnnouncements)},

		// Schedules (schedule.go, schedule_slots.go): read by staff, managed by admins.
		{"POST /api/v1/schedules", admins, "schedule_create schedule:{created}", s.newScheduleInScope(s.createSchedule)},
		{"GET /api/v1/schedules", staff, "", s.listSchedules},
		{"GET /api/v1/schedules/week", staff, "", s.scheduleWeek},
		{"POST /api/v1/schedules/reload", admins, "schedule_reload schedules", plain(s.reloadSchedules)},
		{"GET /api/v1/schedules/{id}", staff, "", s.scheduleInScope(s.getSchedule)},
		{"PUT /api/v1/schedules/{id}", admins, "schedule_update schedule:{id}", s.editScheduleInScope},
		{"DELETE /api/v1/schedules/{id}", admins, "schedule_delete schedule:{id}", s.scheduleInScope(s.deleteSchedule)},
		{"POST /api/v1/schedules/{id}/pause", admins, "schedule_pause schedule:{id}", s.scheduleInScope(s.pauseSchedule)},
		{"POST /api/v1/schedules/{id}/resume", admins, "schedule_resume schedule:{id}", s.scheduleInScope(s.resumeSchedule)},
		{"GET /api/v1/schedules/{id}/slots", staff, "", s.scheduleInScope(s.scheduleSlots)},

		{"GET /healthz", anyone, "", plain(s.healthz)},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "terminals": s.Inventory().Len(), "online": s.Presence.OnlineCount()})
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
