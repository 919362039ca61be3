package controller_test

// Lockout on a real controller: five failed logins of a name lock it (423, Retry-After, a
// Chinese message saying when to retry), the right password included; a name that does not
// exist answers exactly the same; other names from the same address still log in; an admin's
// password reset lifts the lock; the lock survives a restart; all of it is audited with the
// client's address.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"dalaba/controller"
)

// loginAttempt posts a login and returns the status, the Retry-After header and the message.
func loginAttempt(t *testing.T, c *controller.Controller, name, password string) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name, "password": password})
	resp, err := http.Post("http://"+c.HTTPAddr+"/api/v1/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	code, body := decodeBody(t, resp)
	msg, _ := body["error"].(string)
	return code, resp.Header.Get("Retry-After"), msg
}

func TestLoginLockoutOnARealController(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	c, _, stop := startReviewStop(t, func(o *controller.Options) { o.DataDir = data })
	admin := staffLogin(t, c, "admin", adminPassword)
	staffMust(t, 201, c, admin, "POST", "/api/v1/users", map[string]string{"name": "li", "role": "editor", "password": "li-password"}, nil)
	staffMust(t, 201, c, admin, "POST", "/api/v1/users", map[string]string{"name": "wang", "role": "reviewer", "password": "wang-password"}, nil)
	liSession := staffLogin(t, c, "li", "li-password")

	// The same five answers for a real name and one that does not exist.
	for _, name := range []string{"li", "ghost"} {
		for i := 1; i <= 4; i++ {
			if code, _, msg := loginAttempt(t, c, name, "guess-number-"+strconv.Itoa(i)); code != 401 || msg != "用户名或密码错误" {
				t.Fatalf("%s: failure %d: %d %q, want 401", name, i, code, msg)
			}
		}
		code, retry, msg := loginAttempt(t, c, name, "guess-number-5")
		secs, _ := strconv.Atoi(retry)
		if code != 423 || secs < 890 || secs > 900 || !strings.Contains(msg, "账号已锁定，请于") || !strings.Contains(msg, "后再试（约 15 分钟）") {
			t.Fatalf("%s: fifth failure: %d Retry-After %q %q, want 423 for 15 minutes saying when", name, code, retry, msg)
		}
	}
	if code, _, msg := loginAttempt(t, c, "li", "li-password"); code != 423 || !strings.Contains(msg, "账号已锁定") {
		t.Fatalf("li with the right password while locked: %d %q, want 423", code, msg)
	}
	// Other names from the same address are not locked; li's session from before still works.
	staffLogin(t, c, "wang", "wang-password")
	staffMust(t, 200, c, liSession, "GET", "/api/v1/me", nil, nil)

	// Everything is in the audit log, with the address it came from.
	var audit []struct {
		Actor, Action, Object string
		After                 map[string]any
	}
	staffMust(t, 200, c, admin, "GET", "/api/v1/audit?object=user:li", nil, &audit)
	counts := map[string]int{}
	for _, e := range audit {
		counts[e.Action]++
		if strings.HasPrefix(e.Action, "login_") && e.After["source"] != "127.0.0.1" {
			t.Errorf("audit %s %v: want source 127.0.0.1", e.Action, e.After)
		}
	}
	if counts["login_failed"] != 5 || counts["login_lockout"] != 1 || counts["login_locked"] != 1 {
		t.Fatalf("audit of li: %v, want 5 login_failed, 1 login_lockout, 1 login_locked", counts)
	}

	// The lock is in the store: a restart keeps it.
	stop()
	c, _, _ = startReviewStop(t, func(o *controller.Options) { o.DataDir = data })
	if code, _, _ := loginAttempt(t, c, "ghost", "anything-at-all1"); code != 423 {
		t.Fatalf("ghost after a restart: %d, want still 423", code)
	}
	// An admin's reset lifts li's lock.
	admin = staffLogin(t, c, "admin", adminPassword)
	staffMust(t, 200, c, admin, "POST", "/api/v1/users/li/password", map[string]string{"password": "li-new-password-2"}, nil)
	staffLogin(t, c, "li", "li-new-password-2")
}
