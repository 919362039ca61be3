package api

import (
	"net/http"
	"strings"

	"dalaba/controller/review"
)

// Staff log in for the announcement, review, user and audit endpoints. The broadcast and
// terminal endpoints are not behind login yet.

// authed serves h to a logged-in user with one of roles (any role when none is given):
// 401 without a valid session, 403 for the wrong role.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, review.User), roles ...review.Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if token = strings.TrimSpace(token); !strings.EqualFold(scheme, "Bearer") || token == "" { // the scheme is case-insensitive
			w.Header().Set("WWW-Authenticate", `Bearer realm="dalaba"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "请先登录（ebctl login）", Detail: "missing Authorization: Bearer token"})
			return
		}
		u, err := s.Review.Authenticate(r.Context(), token)
		if err != nil {
			s.reviewFail(w, r, err)
			return
		}
		if len(roles) > 0 && !u.Is(roles...) {
			names := make([]string, len(roles))
			for i, role := range roles {
				names[i] = role.Name()
			}
			writeJSON(w, http.StatusForbidden, apiError{Error: "无权执行此操作：需要" + strings.Join(names, "或") + "身份",
				Detail: "user " + u.Name + " has role " + string(u.Role)})
			return
		}
		h(w, r, u)
	}
}

// login: POST /api/v1/login {"name", "password"} -> {"token", "expires_at", "role", ...}.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	sess, err := s.Review.Login(r.Context(), strings.TrimSpace(req.Name), req.Password)
	if err != nil {
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": sess.Token, "expires_at": sess.ExpiresAt, "role": sess.User.Role,
		"name": sess.User.Name, "display_name": sess.User.DisplayName})
}
