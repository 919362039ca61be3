package controller_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
)

// Logins, tokens and roles (a subtest of TestReviewWorkflow, for its staff team): 401 without
// or with a bad token, 403 for the wrong role, Chinese messages; the broadcast and terminal
// endpoints are behind login too.
func testLoginAndRoles(t *testing.T, c *controller.Controller, tok map[string]string) {
	var s struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		Role      string    `json:"role"`
	}
	staffMust(t, 200, c, "", "POST", "/api/v1/login", map[string]string{"name": "wang", "password": "wang-password"}, &s)
	if len(s.Token) < 40 || s.Role != "reviewer" || time.Until(s.ExpiresAt) < 11*time.Hour || time.Until(s.ExpiresAt) > 12*time.Hour {
		t.Fatalf("login answer %+v", s)
	}
	for _, tc := range []struct{ name, password string }{{"wang", "wrong-password"}, {"nobody", "wang-password"}, {"", ""}} {
		var out map[string]any
		if code, _ := staffCall(t, c, "", "POST", "/api/v1/login", map[string]string{"name": tc.name, "password": tc.password}, &out); code != 401 ||
			out["error"] != "用户名或密码错误" {
			t.Errorf("login %q/%q: %d %v", tc.name, tc.password, code, out)
		}
	}

	cases := []struct {
		who, method, path string
		body              any
		want              int
		says              string
	}{
		{"", "GET", "/api/v1/announcements", nil, 401, "请先登录"},
		{"bad", "GET", "/api/v1/announcements", nil, 401, "登录已过期或无效"},
		{"", "POST", "/api/v1/announcements", announcementBody("t"), 401, "请先登录"},
		{"", "GET", "/api/v1/users", nil, 401, "请先登录"},
		{"li", "GET", "/api/v1/users", nil, 403, "需要管理员身份"},
		{"wang", "POST", "/api/v1/users", map[string]string{"name": "x", "role": "admin", "password": "12345678"}, 403, "需要管理员身份"},
		{"li", "GET", "/api/v1/audit", nil, 403, "需要审核人或管理员身份"},
		{"li", "POST", "/api/v1/announcements/1/approve", map[string]any{"revision": 1}, 403, "需要审核人或管理员身份"},
		{"li", "POST", "/api/v1/announcements/1/reject", map[string]any{"comment": "x"}, 403, "需要审核人或管理员身份"},
		{"wang", "GET", "/api/v1/audit", nil, 200, ""},
		{"admin", "GET", "/api/v1/users", nil, 200, "李文书"},
		{"admin", "POST", "/api/v1/users", map[string]string{"name": "li", "role": "editor", "password": "12345678"}, 409, "用户名已存在"},
		{"admin", "POST", "/api/v1/users", map[string]string{"name": "sun", "role": "boss", "password": "12345678"}, 400, "角色须为"},
		{"admin", "POST", "/api/v1/users", map[string]string{"name": "sun", "role": "editor", "password": "short"}, 400, "密码至少 8 个字符"},
		{"admin", "POST", "/api/v1/users", map[string]string{"name": "孙", "role": "editor", "password": "12345678"}, 400, "用户名须为"},
	}
	for _, tc := range cases {
		token := tok[tc.who]
		if tc.who == "bad" {
			token = "not-a-token"
		}
		code, raw := staffCall(t, c, token, tc.method, tc.path, tc.body, nil)
		if code != tc.want || !strings.Contains(string(raw), tc.says) {
			t.Errorf("%s %s %s: %d %s, want %d saying %q", tc.who, tc.method, tc.path, code, raw, tc.want, tc.says)
		}
	}

	// The scheme is case-insensitive (RFC 7235); Basic is not a session.
	for auth, want := range map[string]int{"bearer " + tok["li"]: 200, "Basic " + tok["li"]: 401, "Bearer": 401} {
		req, err := http.NewRequest("GET", "http://"+c.HTTPAddr+"/api/v1/announcements", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %.12q...: %d, want %d", auth, resp.StatusCode, want)
		}
	}

	// The broadcast and terminal endpoints are behind login too (auth_matrix_test checks every route).
	resp, err := http.Get("http://" + c.HTTPAddr + "/api/v1/terminals")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("terminals without login: %d, want 401", resp.StatusCode)
	}

	// Logins, failed ones too, are in the audit log.
	var audit []struct{ Actor, Action, Object string }
	staffMust(t, 200, c, tok["admin"], "GET", "/api/v1/audit?object=user:wang", nil, &audit)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Actor+":"+e.Action)
	}
	if strings.Join(actions, " ") != "wang:login_failed wang:login wang:login admin:user_create" {
		t.Fatalf("audit of user:wang, newest first: %v", actions)
	}
}

// A session lasts SessionTTL; after that the token is refused with 401.
func TestStaffSessionExpires(t *testing.T) {
	c, _ := startReview(t, func(o *controller.Options) { o.SessionTTL = 500 * time.Millisecond })
	token := staffLogin(t, c, "admin", adminPassword)
	staffMust(t, 200, c, token, "GET", "/api/v1/announcements", nil, nil)
	eventually(t, 5*time.Second, func() error {
		code, raw := staffCall(t, c, token, "GET", "/api/v1/announcements", nil, nil)
		if code != 401 || !strings.Contains(string(raw), "登录已过期") {
			return fmt.Errorf("status %d %s", code, raw)
		}
		return nil
	})
}

// A fresh install creates user admin: with the configured password, or with a generated one
// logged once at WARN. A later start with users leaves them alone.
func TestFirstStartCreatesAdmin(t *testing.T) {
	data := t.TempDir()
	start := func(password string) (*controller.Controller, *syncBuffer, func()) {
		return startReviewStop(t, func(o *controller.Options) { o.DataDir, o.AdminPassword = data, password })
	}
	c, logs, stop := start("")
	m := regexp.MustCompile(`level=WARN msg="no users yet: created user admin with a generated password[^"]*" user=admin password=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no WARN with the generated password:\n%s", logs)
	}
	staffLogin(t, c, "admin", m[1])
	stop()

	c, logs, _ = start("a-different-password")
	if strings.Contains(logs.String(), "generated password") {
		t.Fatalf("a second start generated another password:\n%s", logs)
	}
	staffLogin(t, c, "admin", m[1])
	staffMust(t, 401, c, "", "POST", "/api/v1/login", map[string]string{"name": "admin", "password": "a-different-password"}, nil)
}
