package api

import (
	"errors"
	"net/http"
	"time"

	"dalaba/controller/review"
	"dalaba/controller/schedule"
)

// ScheduleJSON is a schedule as the API shows it: times in the schedule's own zone, and as
// unix ms.
type ScheduleJSON struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Announcement string   `json:"announcement"`   // announcement id or key
	To           []string `json:"to"`             // empty: the announcement's own targets
	Cron         string   `json:"cron,omitempty"` // recurring, or
	At           string   `json:"at,omitempty"`   // one-off, RFC 3339
	AtMs         int64    `json:"at_ms,omitempty"`
	TimeZone     string   `json:"timezone"` // IANA name
	Grace        string   `json:"grace"`    // how late a slot may still start, e.g. 10m0s
	GraceMs      int64    `json:"grace_ms"`
	Paused       bool     `json:"paused"`
	Source       string   `json:"source"`         // file or api
	File         string   `json:"file,omitempty"` // for source file
	Created      string   `json:"created"`
	CreatedMs    int64    `json:"created_ms"`
	Next         string   `json:"next,omitempty"` // the next slot after now; absent when none
	NextMs       int64    `json:"next_ms,omitempty"`
}

func toScheduleJSON(s schedule.Schedule, now time.Time) ScheduleJSON {
	out := ScheduleJSON{ID: s.ID, Name: s.Name, Announcement: s.Announcement, To: []string{}, Cron: s.Cron,
		TimeZone: s.Location.String(), Grace: s.Grace.String(), GraceMs: s.Grace.Milliseconds(), Paused: s.Paused,
		Source: s.Source, File: s.File, Created: s.Created.Format(time.RFC3339), CreatedMs: s.Created.UnixMilli()}
	for _, a := range s.Targets {
		out.To = append(out.To, a.String())
	}
	if !s.At.IsZero() {
		out.At, out.AtMs = s.At.Format(time.RFC3339Nano), s.At.UnixMilli()
	}
	from := now
	if s.Since.After(from) {
		from = s.Since
	}
	if next := s.Next(from); !next.IsZero() {
		out.Next, out.NextMs = next.Format(time.RFC3339Nano), next.UnixMilli()
	}
	return out
}

// createSchedule takes a JSON schedule.Def: {"id", "name", "announcement", "to", "cron" | "at",
// "timezone", "grace", "paused"}; an empty id is generated.
func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) {
	var d schedule.Def
	if err := readJSON(r, &d); err != nil {
		s.scheduleFail(w, r, &schedule.InputError{Field: "body", Message: `请求格式错误：需要 JSON，如 {"name": "早间通知", "announcement": "caoxi-morning-notice", "to": "village:361126104201", "cron": "30 7 * * *"}`, Err: err})
		return
	}
	sc, err := s.Schedules.Create(r.Context(), d)
	if err != nil {
		s.scheduleFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/schedules/"+sc.ID)
	writeJSON(w, http.StatusCreated, toScheduleJSON(sc, s.Schedules.Now()))
}

// updateSchedule: PUT /api/v1/schedules/{id} with a whole schedule.Def (as created; its id is
// the path's): the new definition applies entirely or not at all.
func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request) {
	var d schedule.Def
	if err := readJSON(r, &d); err != nil {
		s.scheduleFail(w, r, &schedule.InputError{Field: "body", Message: `请求格式错误：需要 JSON，如 {"name": "早间通知", "announcement": "caoxi-morning-notice", "cron": "30 7 * * *"}`, Err: err})
		return
	}
	sc, err := s.Schedules.Update(r.Context(), r.PathValue("id"), d)
	s.answerSchedule(w, r, sc, err)
}

// editScheduleInScope lets u change schedule {id} only when both what it plays now and what it
// would play lie inside u's scope.
func (s *Server) editScheduleInScope(w http.ResponseWriter, r *http.Request, u review.User) {
	s.scheduleInScope(func(w http.ResponseWriter, r *http.Request) { s.newScheduleInScope(s.updateSchedule)(w, r, u) })(w, r, u)
}

// listSchedules answers the schedules that play inside the caller's scope.
func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request, u review.User) {
	list, err := s.Schedules.List(r.Context())
	if err != nil {
		s.scheduleFail(w, r, err)
		return
	}
	now := s.Schedules.Now()
	out := []ScheduleJSON{}
	for _, sc := range list {
		if s.scheduleVisible(r.Context(), u, sc) {
			out = append(out, toScheduleJSON(sc, now))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.Schedules.Get(r.Context(), r.PathValue("id"))
	s.answerSchedule(w, r, sc, err)
}

func (s *Server) pauseSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.Schedules.Pause(r.Context(), r.PathValue("id"))
	s.answerSchedule(w, r, sc, err)
}

func (s *Server) resumeSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.Schedules.Resume(r.Context(), r.PathValue("id"))
	s.answerSchedule(w, r, sc, err)
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	if err := s.Schedules.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.scheduleFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": r.PathValue("id")})
}

func (s *Server) answerSchedule(w http.ResponseWriter, r *http.Request, sc schedule.Schedule, err error) {
	if err != nil {
		s.scheduleFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toScheduleJSON(sc, s.Schedules.Now()))
}

// scheduleFail answers the schedule package's errors; the rest go to fail.
func (s *Server) scheduleFail(w http.ResponseWriter, r *http.Request, err error) {
	var in *schedule.InputError
	var fe *schedule.FileError
	switch {
	case errors.As(err, &in):
		writeJSON(w, http.StatusBadRequest, apiError{Error: in.Message, Field: in.Field, Detail: err.Error()})
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "日程文件有误，未作任何更改：" + fe.Message,
			"file": fe.File, "line": fe.Line, "field": fe.Field, "detail": err.Error()})
	case errors.Is(err, schedule.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "找不到该日程", Detail: err.Error()})
	case errors.Is(err, schedule.ErrExists):
		writeJSON(w, http.StatusConflict, apiError{Error: "日程编号已被使用", Field: "id", Detail: err.Error()})
	case errors.Is(err, schedule.ErrFromFile):
		writeJSON(w, http.StatusConflict, apiError{Error: "该日程来自日程文件，请修改文件后重新加载", Detail: err.Error()})
	default:
		s.fail(w, r, err)
	}
}
