package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every call carries the saved session, but the login itself and a request that brings its
// own; a 401 says how to log in.
func TestEveryCallCarriesTheSession(t *testing.T) {
	t.Setenv("DALABA_TOKEN", "saved-token")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	seen := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen[r.URL.Path] = r.Header.Get("Authorization")
		if r.URL.Path == "/api/v1/terminals" && r.Header.Get("Authorization") != "Bearer saved-token" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error": "请先登录（ebctl login）"}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()

	var out map[string]any
	if err := getJSON(srv.URL+"/api/v1/terminals", &out); err != nil {
		t.Fatalf("GET with the saved token: %v", err)
	}
	resp, err := http.Post(srv.URL+"/api/v1/schedules/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Post(srv.URL+"/api/v1/login", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer its-own")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := map[string]string{"/api/v1/terminals": "Bearer saved-token", "/api/v1/schedules/reload": "Bearer saved-token",
		"/api/v1/login": "", "/api/v1/me": "Bearer its-own"}
	for path, auth := range want {
		if seen[path] != auth {
			t.Errorf("%s sent Authorization %q, want %q", path, seen[path], auth)
		}
	}
	if req.Header.Get("Authorization") != "Bearer its-own" {
		t.Error("the transport changed the caller's request")
	}

	// A 401 tells the user to log in.
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/terminals", nil)
	req.Header.Set("Authorization", "Bearer stale")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(resp, &out); err == nil || !strings.Contains(err.Error(), "请先登录：ebctl login --user 用户名") {
		t.Errorf("decode of a 401: %v, want the login hint", err)
	}
}
