package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Every call to the controller carries the saved session (ebctl login) or $DALABA_TOKEN: the
// API is behind login but for the login itself and the public archive. The transport adds it
// to any request that does not set Authorization itself.
func init() {
	http.DefaultTransport = &sessionTransport{base: http.DefaultTransport}
}

type sessionTransport struct{ base http.RoundTripper }

// savedToken is read once per run; "" when there is none (the controller then answers 401).
var savedToken = sync.OnceValue(func() string {
	t, err := loadToken()
	if err != nil {
		return ""
	}
	return t
})

func (t *sessionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") == "" && !strings.HasSuffix(req.URL.Path, "/api/v1/login") {
		if token := savedToken(); token != "" {
			req = req.Clone(req.Context()) // a RoundTripper must not change the caller's request
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	return t.base.RoundTrip(req)
}

// apiError is the controller's error body.
type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
}

// decode reads a JSON answer, turning an error status into an error that shows the message
// (and, for 401, how to log in).
func decode(resp *http.Response, into any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		err := fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		var e apiError
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			err = fmt.Errorf("%s (%d: %s)", e.Error, resp.StatusCode, e.Detail)
		}
		if resp.StatusCode == http.StatusUnauthorized && !strings.HasSuffix(resp.Request.URL.Path, "/api/v1/login") {
			err = fmt.Errorf("%w\n请先登录：ebctl login --user 用户名", err)
		}
		return err
	}
	return json.Unmarshal(body, into)
}

// getJSON GETs url and decodes the JSON answer into out, or returns the controller's error.
func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	return decode(resp, out)
}
