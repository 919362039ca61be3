package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The session cookie holds the very token POST /api/v1/login issues: the console keeps no
// sessions of its own, and signing out ends the API session too.
const sessionCookie = "dalaba_session"

// user is the signed-in staff member, as GET /api/v1/me answers.
type user struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Scope       string `json:"scope"`
	ScopeName   string `json:"scope_name"`

	token string
}

// RoleName is the role in Chinese.
func (u user) RoleName() string {
	switch u.Role {
	case "admin":
		return "管理员"
	case "reviewer":
		return "审核员"
	case "editor":
		return "撰稿员"
	}
	return u.Role
}

// Reviews reports whether u may approve, publish and send emergencies of their own words.
func (u user) Reviews() bool { return u.Role == "reviewer" || u.Role == "admin" }

// Admin reports whether u manages schedules and terminals.
func (u user) Admin() bool { return u.Role == "admin" }

// signedInHandler serves a request of a signed-in user.
type signedInHandler func(w http.ResponseWriter, r *http.Request, u user)

// signedIn passes the request on with its user, or sends the browser to sign in. A form post
// must carry the session's CSRF token (SameSite=Strict already keeps other sites' posts from
// carrying the cookie; the token also covers older browsers).
func (c *Console) signedIn(h signedInHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			c.toLogin(w, r)
			return
		}
		ans := c.call(r, ck.Value, "GET", "/api/v1/me", "", nil)
		var u user
		if !ans.OK() || ans.Decode(&u) != nil {
			clearSession(w, r)
			c.toLogin(w, r)
			return
		}
		u.token = ck.Value
		if r.Method == http.MethodPost && !c.validCSRF(u.token, csrfFrom(r)) {
			c.renderError(w, r, u, http.StatusForbidden, "页面已过期或来源不明，请刷新页面后重试")
			return
		}
		h(w, r, u)
	})
}

// csrfFrom is the token of a form post, or of a script's X-CSRF-Token header.
func csrfFrom(r *http.Request) string {
	if v := r.Header.Get("X-CSRF-Token"); v != "" {
		return v
	}
	return r.FormValue("csrf")
}

func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("X-Requested-With") != "" {
		http.Error(w, "请先登录", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// csrfToken is the session's CSRF token: an HMAC of the session token under a key of this
// process, so it needs no storage and a leaked page does not reveal the session.
func (c *Console) csrfToken(session string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte(session))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (c *Console) validCSRF(session, got string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(c.csrfToken(session)))
}

func setSession(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/fleet"
	}
	return next
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, "login", user{}, map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// login signs in through POST /api/v1/login: its lockouts and rate limits apply as they are.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	name, next := strings.TrimSpace(r.FormValue("name")), safeNext(r.FormValue("next"))
	form := map[string]any{"Next": next, "Name": name, "Errors": map[string]string{}}
	errs := form["Errors"].(map[string]string)
	if name == "" {
		errs["name"] = "请输入用户名"
	}
	if r.FormValue("password") == "" {
		errs["password"] = "请输入密码"
	}
	if len(errs) > 0 {
		c.renderStatus(w, r, http.StatusBadRequest, "login", user{}, form)
		return
	}
	ans := c.callJSON(r, "", "POST", "/api/v1/login", map[string]string{"name": name, "password": r.FormValue("password")})
	if !ans.OK() {
		errs["password"] = ans.Err().Error
		c.renderStatus(w, r, ans.Status, "login", user{}, form)
		return
	}
	var sess struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := ans.Decode(&sess); err != nil || sess.Token == "" {
		c.log.Error("console login", "err", err)
		errs["password"] = "系统内部错误，请联系管理员"
		c.renderStatus(w, r, http.StatusInternalServerError, "login", user{}, form)
		return
	}
	setSession(w, r, sess.Token, sess.ExpiresAt)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, u user) {
	c.call(r, u.token, "POST", "/api/v1/logout", "", nil)
	clearSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
