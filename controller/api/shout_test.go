package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"dalaba/controller/inventory"
	"dalaba/controller/review"
	"dalaba/controller/store"
	"dalaba/proto/wire"
)

// fakeOpener records the shouts the API opens, in place of the live hub.
type fakeOpener struct {
	mu     sync.Mutex
	opened []string // "by title targets"
}

func (f *fakeOpener) OpenShout(_ context.Context, title string, targets []wire.Address, by string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, by+" "+title+" "+strings.Join(targetList(targets), ","))
	return "shout-1", "key-1", nil
}

func (f *fakeOpener) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.opened...)
}

// shoutServer is an API over a real review service and the Caoxi inventory, with reviewers at
// the three tiers (a shout is unreviewed speech: reviewers and admins only); it returns their
// tokens.
func shoutServer(t *testing.T, opener ShoutOpener) (*httptest.Server, map[string]string, *review.Service) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	inv, err := inventory.ReadFile(filepath.Join("..", "..", "testdata", "caoxi-terminals.csv"))
	if err != nil {
		t.Fatal(err)
	}
	invf := func() *inventory.Inventory { return inv }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rv, err := review.New(ctx, db, review.Options{Inventory: invf, AdminPassword: "admin-password", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Inventory: invf, DB: db, Log: log, Review: rv, GRPCAddr: "127.0.0.1:7700"}
	if opener != nil {
		s.Shouts = opener
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	admin := bootstrapAdmin(t, rv)
	tokens := map[string]string{}
	for name, scope := range map[string]string{"zhen": "town:361126104", "cun": "village:361126104201", "zu": "group:361126104201001"} {
		if _, err := rv.CreateUser(ctx, admin, review.NewUser{Name: name, Role: review.Reviewer, Password: name + "-password", Scope: scope}); err != nil {
			t.Fatal(err)
		}
		sess, err := rv.Login(ctx, name, name+"-password")
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = sess.Token
	}
	return ts, tokens, rv
}

// bootstrapAdmin is the admin review.New created.
func bootstrapAdmin(t *testing.T, rv *review.Service) review.User {
	t.Helper()
	users, err := rv.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Name == "admin" {
			return u
		}
	}
	t.Fatal("no admin")
	return review.User{}
}

func shout(t *testing.T, ts *httptest.Server, token, targets string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"title": "防汛喊话", "targets": targets})
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/shouts", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// Each tier's account opens a shout inside its scope and gets 403 outside it, before the live
// hub is asked anything.
func TestShoutScope(t *testing.T) {
	fake := &fakeOpener{}
	ts, tokens, rv := shoutServer(t, fake)
	cases := []struct {
		user, targets string
		inside        bool
		outside       string // the target the 403 names
	}{
		{"zhen", "town:361126104", true, ""},
		{"zhen", "village:361126104202,terminal:t001", true, ""},
		{"cun", "village:361126104201", true, ""},
		{"cun", "group:361126104201002,terminal:t001", true, ""},
		{"cun", "town:361126104", false, "曹溪镇（town:361126104）"},
		{"cun", "village:361126104201,village:361126104202", false, "village:361126104202"},
		{"cun", "terminal:t013", false, "终端 t013"},
		{"zu", "group:361126104201001", true, ""},
		{"zu", "terminal:t002", true, ""},
		{"zu", "village:361126104201", false, "曹溪村（village:361126104201）"},
		{"zu", "group:361126104201002", false, "group:361126104201002"},
	}
	want := 0
	for _, c := range cases {
		code, body := shout(t, ts, tokens[c.user], c.targets)
		msg, _ := body["error"].(string)
		switch {
		case c.inside && (code != 201 || body["id"] != "shout-1" || body["stream_key"] != "key-1" || body["grpc"] != "127.0.0.1:7700"):
			t.Errorf("%s shouts to %s: %d %v, want 201 with id, stream key and gRPC address", c.user, c.targets, code, body)
		case !c.inside && (code != 403 || !strings.Contains(msg, "超出您的广播范围") || !strings.Contains(msg, c.outside)):
			t.Errorf("%s shouts to %s: %d %q, want 403 naming %s", c.user, c.targets, code, msg, c.outside)
		}
		if c.inside {
			want++
		}
	}
	if got := fake.calls(); len(got) != want || got[0] != "zhen 防汛喊话 town:361126104" {
		t.Fatalf("opened %q, want %d shouts, the refused ones never reaching the hub", got, want)
	}
	// The village account's message names its own village.
	_, body := shout(t, ts, tokens["cun"], "town:361126104")
	if msg := body["error"].(string); !strings.Contains(msg, "只能向 曹溪村（village:361126104201） 广播") {
		t.Errorf("message %q does not name the account's scope", msg)
	}
	entries, err := rv.Audit(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range entries {
		counts[e.Action]++
	}
	if counts["shout"] != want || counts["shout_denied"] != len(cases)-want+1 {
		t.Errorf("audit %v, want %d shouts and %d refusals", counts, want, len(cases)-want+1)
	}
}

func TestShoutWithoutHubIs503(t *testing.T) {
	ts, tokens, _ := shoutServer(t, nil)
	if code, body := shout(t, ts, tokens["cun"], "village:361126104201"); code != 503 || !strings.Contains(body["error"].(string), "喊话服务不可用") {
		t.Fatalf("no live hub: %d %v, want 503", code, body)
	}
	if code, _ := shout(t, ts, tokens["cun"], "village:361126104202"); code != 403 {
		t.Fatalf("outside scope without a hub: %d, want 403 all the same", code)
	}
	if code, body := shout(t, ts, tokens["cun"], "village:361126104299"); code != 400 || body["field"] != "targets" {
		t.Fatalf("unknown target: %d %v, want 400 on targets", code, body)
	}
	if code, _ := shout(t, ts, "", "village:361126104201"); code != 401 {
		t.Fatalf("no login: %d, want 401", code)
	}
}
