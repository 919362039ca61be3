package api

import (
	"context"
	"errors"
	"net/http"

	"dalaba/controller/review"
)

// Staff accounts: logout, who am I, one's own password; for admins, changing a user's role,
// scope, name or disabling them, and resetting a password. The review service audits each.

type sessionKey struct{}

// withSession carries the caller's token to the handler (logout and password change need it).
func withSession(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, sessionKey{}, token)
}

func sessionToken(ctx context.Context) string {
	t, _ := ctx.Value(sessionKey{}).(string)
	return t
}

type recordKey struct{}

// withRecordFlag lets record mark that the handler audited something of this request.
func withRecordFlag(ctx context.Context) (context.Context, *bool) {
	flag := new(bool)
	return context.WithValue(ctx, recordKey{}, flag), flag
}

func markRecorded(ctx context.Context) {
	if flag, ok := ctx.Value(recordKey{}).(*bool); ok {
		*flag = true
	}
}

func asReviewError(err error, re **review.Error) bool { return errors.As(err, re) }

// logout: POST /api/v1/logout ends the session whose token came with it.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, u review.User) {
	if err := s.Review.Logout(r.Context(), u, sessionToken(r.Context())); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logged_out": u.Name})
}

// me: GET /api/v1/me, the caller's account.
func (s *Server) me(w http.ResponseWriter, r *http.Request, u review.User) {
	u.ScopeName = s.Review.ScopeName(u.Scope)
	writeJSON(w, http.StatusOK, u)
}

// changePassword: POST /api/v1/me/password {"old_password", "new_password"}. The caller's other
// sessions end; this one stays.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, u review.User) {
	var req struct {
		Old string `json:"old_password"`
		New string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	if err := s.Review.ChangePassword(r.Context(), u, sessionToken(r.Context()), req.Old, req.New, source(r)); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": u.Name, "password_changed": true})
}

// updateUser: PATCH /api/v1/users/{name} {"display_name", "role", "scope", "disabled"}, any of
// them. Disabling ends the user's sessions at once.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, admin review.User) {
	var ch review.UserChange
	if err := decodeJSON(w, r, &ch); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	u, err := s.Review.UpdateUser(r.Context(), admin, r.PathValue("name"), ch)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// resetPassword: POST /api/v1/users/{name}/password {"password"}: an admin sets a new password;
// the user's sessions end and a lockout of the name is lifted.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, admin review.User) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	name := r.PathValue("name")
	if err := s.Review.ResetPassword(r.Context(), admin, name, req.Password); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "password_reset": true})
}
