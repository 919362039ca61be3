package api

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dalaba/controller/review"
)

// Every route is behind login but the few that are public (the login itself, the public
// archive, /healthz): guard checks the session and the role before the handler runs, audits
// every refusal (401, 403), and audits every call of a route whose Audit names an action.

// Route is one endpoint of the API and who may call it.
type Route struct {
	Pattern string        // "METHOD /path", as http.ServeMux reads it
	Roles   []review.Role // the roles that may call it; nil: anyone, without login
	// Audit says how a call that may change something is recorded: "action object" for the
	// record guard writes after the call (object may name {id} or {name} of the path, or
	// {created}: the id at the end of the answer's Location), byHandler when the handler writes
	// its own, richer entries. Empty for reads.
	Audit string
	serve handler
}

// Public reports whether the route needs no login.
func (rt Route) Public() bool { return rt.Roles == nil }

// handler serves a request of a logged-in user (the zero User on a public route).
type handler func(http.ResponseWriter, *http.Request, review.User)

// plain adapts a handler that does not need to know the user.
func plain(h http.HandlerFunc) handler {
	return func(w http.ResponseWriter, r *http.Request, _ review.User) { h(w, r) }
}

// byHandler is the Audit of a route whose handler audits what it does itself.
const byHandler = "by handler"

var (
	anyone    []review.Role // public: no login
	staff     = []review.Role{review.Editor, review.Reviewer, review.Admin}
	reviewers = []review.Role{review.Reviewer, review.Admin}
	admins    = []review.Role{review.Admin}
)

// guard serves rt: 401 without a valid session, 403 for a role rt does not allow, both audited;
// then the handler, audited as rt.Audit says.
func (s *Server) guard(rt Route) http.Handler {
	serve := rt.serve
	if rt.Audit != "" && rt.Audit != byHandler {
		serve = s.audited(rt, serve)
	}
	if rt.Public() {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, review.User{}) })
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			s.deny(w, r, rt, review.User{Name: "anonymous"}, http.StatusUnauthorized, "no token", apiError{Error: "请先登录（ebctl login）",
				Detail: "missing Authorization: Bearer token"})
			return
		}
		u, err := s.Review.Authenticate(r.Context(), token)
		if err != nil {
			s.denyErr(w, r, rt, review.User{Name: "anonymous"}, err)
			return
		}
		if !u.Is(rt.Roles...) {
			names := make([]string, len(rt.Roles))
			for i, role := range rt.Roles {
				names[i] = role.Name()
			}
			s.deny(w, r, rt, u, http.StatusForbidden, "role "+string(u.Role), apiError{Error: "无权执行此操作：需要" + strings.Join(names, "或") + "身份",
				Detail: "user " + u.Name + " has role " + string(u.Role)})
			return
		}
		ctx, recorded := withRecordFlag(withSession(r.Context(), token))
		sw := &statusWriter{ResponseWriter: w}
		serve(sw, r.WithContext(ctx), u)
		// A refusal by the handler (outside the scope, the author approving their own...)
		// that the handler did not audit itself.
		if code := sw.status(); (code == http.StatusUnauthorized || code == http.StatusForbidden) && !*recorded {
			s.record(context.WithoutCancel(r.Context()), u, "denied", "route:"+rt.Pattern, map[string]any{"path": r.URL.Path,
				"status": code, "why": sw.errorMessage(), "source": source(r)})
		}
	})
}

// bearer is the session token of Authorization: Bearer (the scheme is case-insensitive).
func bearer(r *http.Request) (string, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

// deny answers a refusal of the route and audits it: who (anonymous before login), which
// route, from where, and why.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, rt Route, u review.User, code int, why string, body apiError) {
	s.record(r.Context(), u, "denied", "route:"+rt.Pattern, map[string]any{"path": r.URL.Path, "status": code, "why": why, "source": source(r)})
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dalaba"`)
	}
	writeJSON(w, code, body)
}

// denyErr is deny for an error of the review service (an unknown or expired session: 401).
func (s *Server) denyErr(w http.ResponseWriter, r *http.Request, rt Route, u review.User, err error) {
	var re *review.Error
	if !asReviewError(err, &re) {
		s.fail(w, r, err)
		return
	}
	s.record(r.Context(), u, "denied", "route:"+rt.Pattern, map[string]any{"path": r.URL.Path, "status": reviewStatus[re.Kind],
		"why": re.Error(), "source": source(r)})
	s.reviewFail(w, r, err)
}

// source is the client's IP address. X-Forwarded-For is not believed: anyone can send it.
func source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// login: POST /api/v1/login {"name", "password"} -> {"token", "expires_at", "role", ...}. Too
// many failures lock the name (423) or the address (429) for a while, with Retry-After.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ review.User) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	sess, err := s.Review.LoginFrom(r.Context(), strings.TrimSpace(req.Name), req.Password, source(r))
	if err != nil {
		var re *review.Error
		if asReviewError(err, &re) && !re.RetryAt.IsZero() {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(re.RetryAt).Seconds()+0.999))))
		}
		s.reviewFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": sess.Token, "expires_at": sess.ExpiresAt, "role": sess.User.Role,
		"name": sess.User.Name, "display_name": sess.User.DisplayName, "scope": sess.User.Scope})
}
