package api

import (
	"net/http"

	"dalaba/controller/review"
)

// Users and the audit log, for admins (and reviewers, for the audit log); the public archive,
// for anyone.

// createUser: POST /api/v1/users {"name", "display_name", "role", "password"}.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request, admin review.User) {
	var in review.NewUser
	if err := decodeJSON(w, r, &in); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	u, err := s.Review.CreateUser(r.Context(), admin, in)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

// listUsers answers the users an admin manages: those inside their scope.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, admin review.User) {
	users, err := s.Review.Users(r.Context())
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	out := []review.User{}
	for _, u := range users {
		if review.Covers(admin, u.Scope) {
			out = append(out, u)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// listAudit: GET /api/v1/audit[?object=announcement:12][&limit=N], newest first.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, _ review.User) {
	entries, err := s.Review.Audit(r.Context(), r.URL.Query().Get("object"), limit(r))
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, entries)
}

// publicAnnouncements: GET /api/v1/public/announcements, no login: the public archive (公开栏).
func (s *Server) publicAnnouncements(w http.ResponseWriter, r *http.Request) {
	list, err := s.Review.Public(r.Context(), limit(r))
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}
