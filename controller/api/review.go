package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"dalaba/controller/review"
)

// Announcements (公告): drafted and submitted by staff, approved or rejected by someone else.

func (s *Server) createAnnouncement(w http.ResponseWriter, r *http.Request, u review.User) {
	var in review.Input
	if err := decodeJSON(w, r, &in); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	a, err := s.Review.Create(r.Context(), u, in)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/announcements/"+strconv.FormatInt(a.ID, 10))
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) editAnnouncement(w http.ResponseWriter, r *http.Request, u review.User) {
	var in review.Input
	id, err := announcementID(r)
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	s.answer(w, r)(s.Review.Edit(r.Context(), u, id, in))
}

func (s *Server) submitAnnouncement(w http.ResponseWriter, r *http.Request, u review.User) {
	id, err := announcementID(r)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	s.answer(w, r)(s.Review.Submit(r.Context(), u, id))
}

func (s *Server) approveAnnouncement(w http.ResponseWriter, r *http.Request, u review.User) {
	s.decide(w, r, u, s.Review.Approve)
}

func (s *Server) rejectAnnouncement(w http.ResponseWriter, r *http.Request, u review.User) {
	s.decide(w, r, u, s.Review.Reject)
}

type decider func(ctx context.Context, u review.User, id int64, d review.Decision) (review.Announcement, error)

func (s *Server) decide(w http.ResponseWriter, r *http.Request, u review.User, f decider) {
	var d review.Decision
	id, err := announcementID(r)
	if err == nil {
		err = decodeJSON(w, r, &d)
	}
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	s.answer(w, r)(f(r.Context(), u, id, d))
}

// answer writes an announcement, or the error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) func(review.Announcement, error) {
	return func(a review.Announcement, err error) {
		if err != nil {
			s.reviewFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

// listAnnouncements: GET /api/v1/announcements[?state=submitted][&limit=N], newest first: those
// whose targets lie inside the caller's scope, and their own.
func (s *Server) listAnnouncements(w http.ResponseWriter, r *http.Request, u review.User) {
	state := review.State(r.URL.Query().Get("state"))
	switch state {
	case "", review.Draft, review.Submitted, review.Approved, review.Rejected, review.Scheduled, review.Done:
	default:
		s.reviewFail(w, r, &review.Error{Kind: review.Invalid, Field: "state",
			Message: "状态须为 draft、submitted、approved、rejected、scheduled 或 done", Err: fmt.Errorf("unknown state %q", state)})
		return
	}
	list, err := s.Review.List(r.Context(), state, limit(r))
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	out := []review.Announcement{}
	for _, a := range list {
		if a.Author == u.Name || s.visible(u, a.Targets) {
			out = append(out, a)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getAnnouncement answers the announcement with its flags and its history from the audit log.
func (s *Server) getAnnouncement(w http.ResponseWriter, r *http.Request, _ review.User) {
	id, err := announcementID(r)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	a, err := s.Review.Get(r.Context(), id)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	history, err := s.Review.History(r.Context(), id)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		review.Announcement
		History []review.AuditEntry `json:"history"`
	}{a, history})
}
