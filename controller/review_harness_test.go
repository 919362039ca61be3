package controller_test

// Helpers for the review tests: a controller with a known admin password, and JSON calls as a
// logged-in staff user.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"dalaba/controller"
	"dalaba/controller/limits"
)

const adminPassword = "caoxi-admin-2026"

// startReview runs a controller with the Caoxi site and the admin password above; opts may
// change the options (DataDir, SessionTTL, ...). The log is kept for a failing test.
func startReview(t testing.TB, opts func(*controller.Options)) (*controller.Controller, *syncBuffer) {
	t.Helper()
	c, logs, _ := startReviewStop(t, opts)
	return c, logs
}

// startReviewStop is startReview with a stop function, for a test that restarts on the same
// data directory; the controller also stops at cleanup.
func startReviewStop(t testing.TB, opts func(*controller.Options)) (*controller.Controller, *syncBuffer, func()) {
	t.Helper()
	logs := new(syncBuffer)
	o := controller.Options{
		HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		DataDir: filepath.Join(t.TempDir(), "data"), SiteCSV: siteCSV, AdminPassword: adminPassword,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if opts != nil {
		opts(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := controller.Start(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("start controller: %v\n%s", err, logs)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); c.Wait() }) }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("controller log:\n%s", tail([]byte(logs.String()), 40))
		}
	})
	// Now, before any agent runs (see startController); not where a test counts its logins
	// against a login limit of its own.
	if o.AdminPassword == adminPassword && o.Limits == (limits.Config{}) {
		adminToken(t, c.HTTPAddr)
	}
	return c, logs, stop
}

// staffCall sends body as JSON with the token (none when empty), decodes the answer into out when
// given, and returns the status and the raw answer.
func staffCall(t testing.TB, c *controller.Controller, token, method, path string, body, out any) (int, []byte) {
	t.Helper()
	return callJSON(t, c.HTTPAddr, token, method, path, body, out)
}

// callJSON is staffCall by address.
func callJSON(t testing.TB, httpAddr, token, method, path string, body, out any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+httpAddr+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %v: %s", method, path, resp.StatusCode, err, raw)
		}
	}
	return resp.StatusCode, raw
}

// staffMust is staffCall that fails the test unless the status is want.
func staffMust(t testing.TB, want int, c *controller.Controller, token, method, path string, body, out any) {
	t.Helper()
	if code, raw := staffCall(t, c, token, method, path, body, out); code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, raw)
	}
}

// staffLogin returns a session token.
func staffLogin(t testing.TB, c *controller.Controller, name, password string) string {
	t.Helper()
	var s struct{ Token string }
	staffMust(t, 200, c, "", "POST", "/api/v1/login", map[string]string{"name": name, "password": password}, &s)
	return s.Token
}

// staffTeam logs in the admin, adds an editor (li) and two reviewers (wang, zhao), and returns
// their tokens by name.
func staffTeam(t testing.TB, c *controller.Controller) map[string]string {
	t.Helper()
	tokens := map[string]string{"admin": staffLogin(t, c, "admin", adminPassword)}
	for _, u := range []struct{ name, display, role string }{{"li", "李文书", "editor"}, {"wang", "王书记", "reviewer"}, {"zhao", "赵主任", "reviewer"}} {
		staffMust(t, 201, c, tokens["admin"], "POST", "/api/v1/users",
			map[string]string{"name": u.name, "display_name": u.display, "role": u.role, "password": u.name + "-password"}, nil)
		tokens[u.name] = staffLogin(t, c, u.name, u.name+"-password")
	}
	return tokens
}

// apiAnnouncement is an announcement as the API answers it.
type apiAnnouncement struct {
	ID       int64    `json:"id"`
	Title    string   `json:"title"`
	Category string   `json:"category"`
	Domain   string   `json:"domain"`
	Text     string   `json:"text"`
	Targets  string   `json:"targets"`
	Villages []string `json:"villages"`
	Author   string   `json:"author"`
	Revision int      `json:"revision"`
	State    string   `json:"state"`
	Reviewer string   `json:"reviewer"`
	Comment  string   `json:"review_comment"`
	Flags    []struct {
		ID           string `json:"id"`
		Kind         string `json:"kind"`
		Field        string `json:"field"`
		Masked       string `json:"masked"`
		Acknowledged bool   `json:"acknowledged"`
	} `json:"flags"`
	History []struct {
		Actor  string          `json:"actor"`
		Action string          `json:"action"`
		Before json.RawMessage `json:"before"`
		After  json.RawMessage `json:"after"`
	} `json:"history"`
}

// announcementBody is a valid announcement body for the Caoxi site.
func announcementBody(title string) map[string]any {
	return map[string]any{"title": title, "category": "决策公开", "domain": "惠农补贴",
		"text": "各位村民：耕地地力保护补贴本周发放，请到村委会核对。", "targets": "village:" + village201 + ",group:361126104202001", "voice": "xiaoyan"}
}

// createAnnouncement creates an announcement as token and returns it.
func createAnnouncement(t testing.TB, c *controller.Controller, token string, body map[string]any) apiAnnouncement {
	t.Helper()
	var a apiAnnouncement
	staffMust(t, 201, c, token, "POST", "/api/v1/announcements", body, &a)
	return a
}

func annPath(id int64, action string) string {
	p := "/api/v1/announcements/" + strconv.FormatInt(id, 10)
	if action != "" {
		p += "/" + action
	}
	return p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
