package limits

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// echo answers 200 with the body it read, so tests see what reached the handler.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(b)
})

type answer struct {
	Code       int
	RetryAfter string
	Error      string `json:"error"`
	Field      string `json:"field"`
	Detail     string `json:"detail"`
	Body       string
}

func call(t *testing.T, h http.Handler, method, path, from, token string, body io.Reader, header ...string) answer {
	t.Helper()
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = from
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{Code: w.Code, RetryAfter: w.Header().Get("Retry-After"), Body: w.Body.String()}
	if w.Code >= 400 {
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatalf("%s %s: %d with a body that is not the API's JSON error: %q", method, path, w.Code, w.Body.String())
		}
	}
	return a
}

// A client gets Burst requests at once, then 429 with a Retry-After that the rate explains
// and a Chinese message; other clients are not affected.
func TestRatePerAddress(t *testing.T) {
	l := New(Config{Rate: 1.0 / 30, Burst: 3}, nil, nil)
	h := l.Wrap(echo)
	for i := range 3 {
		if a := call(t, h, "GET", "/api/v1/terminals", "10.0.0.1:4000", "", nil); a.Code != 200 {
			t.Fatalf("request %d: %d %s", i+1, a.Code, a.Error)
		}
	}
	a := call(t, h, "GET", "/api/v1/terminals", "10.0.0.1:4001", "", nil) // another port, same address
	if a.Code != http.StatusTooManyRequests || !strings.Contains(a.Error, "请求过于频繁") {
		t.Fatalf("4th request: %d %q, want 429 请求过于频繁", a.Code, a.Error)
	}
	if s, err := strconv.Atoi(a.RetryAfter); err != nil || s < 1 || s > 30 {
		t.Fatalf("Retry-After %q, want 1..30 s (one token every 30 s)", a.RetryAfter)
	}
	if !strings.Contains(a.Error, a.RetryAfter+" 秒后再试") {
		t.Errorf("message %q does not say when to retry (%s s)", a.Error, a.RetryAfter)
	}
	if a := call(t, h, "GET", "/api/v1/terminals", "10.0.0.2:4000", "", nil); a.Code != 200 {
		t.Fatalf("another address: %d", a.Code)
	}
	if l.Refused(Rate) != 1 || l.Refused(LoginRate) != 0 {
		t.Fatalf("refusals counted: rate %d, login %d; want 1, 0", l.Refused(Rate), l.Refused(LoginRate))
	}
}

// Staff are counted by the user of their session, not their address: a user at a busy address
// (the town hall's NAT) is not refused for others' requests, two sessions of one user share a
// bucket, and a made-up token is counted against its address.
func TestStaffCountedByUser(t *testing.T) {
	lookups := 0
	users := func(_ context.Context, token string) (string, bool) {
		lookups++
		user, ok := map[string]string{"wang-1": "wang", "wang-2": "wang", "li-1": "li"}[token]
		return user, ok
	}
	h := New(Config{Rate: 1.0 / 60, Burst: 4}, users, nil).Wrap(echo)
	const hall = "192.0.2.7:5000"
	// The first request of each token is counted by address, and looks the token up.
	for _, tok := range []string{"wang-1", "wang-2", "li-1"} {
		if a := call(t, h, "GET", "/x", hall, tok, nil); a.Code != 200 {
			t.Fatalf("%s first: %d", tok, a.Code)
		}
	}
	// One more anonymous request uses up the address.
	call(t, h, "GET", "/x", hall, "", nil)
	if a := call(t, h, "GET", "/x", hall, "", nil); a.Code != 429 || !strings.Contains(a.Detail, "ip 192.0.2.7") {
		t.Fatalf("anonymous after the burst: %d %q, want 429 for the address", a.Code, a.Detail)
	}
	if a := call(t, h, "GET", "/x", hall, "made-up", nil); a.Code != 429 {
		t.Fatalf("made-up token at an exhausted address: %d, want 429 (counted by address)", a.Code)
	}
	if lookups != 3 {
		t.Fatalf("%d token lookups, want 3: a refused request must not cost one", lookups)
	}
	// wang's two sessions share wang's bucket of 4; li has his own.
	for i := range 4 {
		tok := []string{"wang-1", "wang-2"}[i%2]
		if a := call(t, h, "GET", "/x", hall, tok, nil); a.Code != 200 {
			t.Fatalf("wang request %d (%s): %d", i+1, tok, a.Code)
		}
	}
	a := call(t, h, "GET", "/x", hall, "wang-1", nil)
	if a.Code != 429 || !strings.Contains(a.Detail, "user wang") {
		t.Fatalf("wang after his burst: %d %q, want 429 for user wang", a.Code, a.Detail)
	}
	if a := call(t, h, "GET", "/x", hall, "li-1", nil); a.Code != 200 {
		t.Fatalf("li: %d; another user's bucket is his own", a.Code)
	}
}

// Login has its own, stricter bucket per address, on top of the general one.
func TestLoginStricter(t *testing.T) {
	h := New(Config{Rate: 1000, Burst: 1000, LoginRate: 1.0 / 60, LoginBurst: 2}, nil, nil).Wrap(echo)
	login := func(from string) answer {
		return call(t, h, "POST", "/api/v1/login", from, "", strings.NewReader(`{"name":"admin","password":"x"}`))
	}
	for i := range 2 {
		if a := login("10.1.1.1:1"); a.Code != 200 {
			t.Fatalf("login %d: %d", i+1, a.Code)
		}
	}
	a := login("10.1.1.1:2")
	if a.Code != 429 || !strings.Contains(a.Error, "登录尝试过于频繁") || a.RetryAfter == "" {
		t.Fatalf("3rd login: %d %q Retry-After %q, want 429 登录尝试过于频繁", a.Code, a.Error, a.RetryAfter)
	}
	if a := call(t, h, "GET", "/api/v1/login", "10.1.1.1:3", "", nil); a.Code != 200 {
		t.Errorf("GET of the login path: %d; only POST is a login attempt", a.Code)
	}
	if a := call(t, h, "POST", "/api/v1/announcements", "10.1.1.1:3", "", strings.NewReader("{}")); a.Code != 200 {
		t.Errorf("other endpoints from the same address: %d", a.Code)
	}
	if a := login("10.1.1.2:1"); a.Code != 200 {
		t.Errorf("login from another address: %d", a.Code)
	}
}

// A negative rate turns request limits off, login included; body limits still hold.
func TestRateOff(t *testing.T) {
	h := New(Config{Rate: -1, MaxJSONBytes: 10}, nil, nil).Wrap(echo)
	for i := range 2000 {
		path := "/x"
		if i%2 == 0 {
			path = "/api/v1/login"
		}
		if a := call(t, h, "POST", path, "10.0.0.1:1", "", strings.NewReader("{}")); a.Code != 200 {
			t.Fatalf("request %d: %d", i+1, a.Code)
		}
	}
	if a := call(t, h, "POST", "/x", "10.0.0.1:1", "", strings.NewReader(`{"a":"0123456789"}`)); a.Code != 413 {
		t.Fatalf("over the body limit with rates off: %d, want 413", a.Code)
	}
}

func TestIPv6CountedByPrefix(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::ffff]:1", "2001:db8:1:2::/64"},
		{"[::ffff:10.0.0.9]:80", "10.0.0.9"},
		{"10.0.0.9:80", "10.0.0.9"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"pipe", "pipe"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.addr
		if got := ClientIP(r); got != c.want {
			t.Errorf("ClientIP(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
	h := New(Config{Rate: 1.0 / 60, Burst: 1}, nil, nil).Wrap(echo)
	call(t, h, "GET", "/", "[2001:db8::1]:1", "", nil)
	if a := call(t, h, "GET", "/", "[2001:db8::2]:1", "", nil); a.Code != 429 {
		t.Fatalf("another address of the same /64: %d, want 429", a.Code)
	}
}

// JSON bodies: over the limit is 413 naming it, whether the length is declared or not; within
// it the handler reads the whole body.
func TestJSONBodyLimit(t *testing.T) {
	l := New(Config{MaxJSONBytes: 1024}, nil, nil)
	h := l.Wrap(echo)
	big := `{"text":"` + strings.Repeat("广", 400) + `"}` // 1211 bytes
	a := call(t, h, "POST", "/api/v1/announcements", "10.0.0.1:1", "", strings.NewReader(big))
	if a.Code != 413 || a.Error != "请求内容过大：不能超过 1 KB" {
		t.Fatalf("declared length over the limit: %d %q", a.Code, a.Error)
	}
	// No Content-Length (chunked): counted as it arrives.
	a = call(t, h, "POST", "/api/v1/announcements", "10.0.0.1:1", "", io.MultiReader(strings.NewReader(big)))
	if a.Code != 413 || !strings.Contains(a.Error, "1 KB") {
		t.Fatalf("undeclared length over the limit: %d %q", a.Code, a.Error)
	}
	ok := big[:1024]
	if a := call(t, h, "POST", "/x", "10.0.0.1:1", "", io.MultiReader(strings.NewReader(ok))); a.Code != 200 || a.Body != ok {
		t.Fatalf("exactly at the limit: %d, handler read %d bytes", a.Code, len(a.Body))
	}
	if n := l.Refused(BodySize); n != 2 {
		t.Fatalf("%d body refusals counted, want 2", n)
	}
}

// Multipart forms (uploads) have their own, larger limit, checked on the declared length at
// once and on the bytes as the handler reads them.
func TestUploadLimit(t *testing.T) {
	h := New(Config{MaxJSONBytes: 10, MaxUploadBytes: 2 << 20}, nil, nil).Wrap(echo)
	form := "multipart/form-data; boundary=x"
	body := bytes.Repeat([]byte("a"), 1<<20)
	if a := call(t, h, "POST", "/api/v1/broadcasts", "10.0.0.1:1", "", bytes.NewReader(body), "Content-Type", form); a.Code != 200 || len(a.Body) != len(body) {
		t.Fatalf("1 MiB upload under a 2 MiB limit (and over the JSON one): %d, %d bytes read", a.Code, len(a.Body))
	}
	big := bytes.Repeat([]byte("a"), 3<<20)
	a := call(t, h, "POST", "/api/v1/broadcasts", "10.0.0.1:1", "", bytes.NewReader(big), "Content-Type", form)
	if a.Code != 413 || a.Error != "上传内容过大：不能超过 2 MB" {
		t.Fatalf("3 MiB upload: %d %q", a.Code, a.Error)
	}
	// Undeclared: the handler's read fails with *http.MaxBytesError, which the API answers 413.
	h = New(Config{MaxUploadBytes: 2 << 20}, nil, nil).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		var tooBig *http.MaxBytesError
		if !errorsAs(err, &tooBig) || tooBig.Limit != 2<<20 {
			t.Errorf("reading an undeclared 3 MiB upload: %v, want MaxBytesError at 2 MiB", err)
		}
	}))
	call(t, h, "POST", "/api/v1/broadcasts", "10.0.0.1:1", "", io.MultiReader(bytes.NewReader(big)), "Content-Type", form)
}

// A slow JSON body is cut off after bodyTimeout with 408, and the deadline is gone once the
// handler runs: a handler that takes longer than it keeps its request context.
func TestBodyDeadline(t *testing.T) {
	defer func(d time.Duration) { bodyTimeout = d }(bodyTimeout)
	bodyTimeout = 200 * time.Millisecond
	handled := make(chan error, 1)
	srv := httptest.NewServer(New(Config{}, nil, nil).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * bodyTimeout)
		handled <- r.Context().Err()
		w.Write([]byte("ok"))
	})))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/x", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("slow handler: %d %q", resp.StatusCode, b)
	}
	if err := <-handled; err != nil {
		t.Fatalf("the handler's context ended while it ran: %v", err)
	}

	pr, pw := io.Pipe()
	wrote := make(chan struct{})
	go func(d time.Duration) {
		defer close(wrote)
		pw.Write([]byte(`{"a":`))
		time.Sleep(d)
		pw.Close()
	}(5 * bodyTimeout)
	defer func() { <-wrote }()
	resp, err = http.Post(srv.URL+"/x", "application/json", pr)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || e.Error != "请求内容上传超时" {
		t.Fatalf("trickled body: %d %q, want 408 请求内容上传超时", resp.StatusCode, e.Error)
	}
}

// Idle clients are forgotten, so a flood from many addresses does not grow memory for good.
func TestBucketsForgetIdleClients(t *testing.T) {
	b := newBuckets(10, 20) // full again after 2 s
	now := time.Now()
	for i := range 1000 {
		b.take("ip 10.0.0."+strconv.Itoa(i), now)
	}
	if b.size() != 1000 {
		t.Fatalf("%d clients remembered, want 1000", b.size())
	}
	b.take("ip busy", now.Add(61*time.Second))
	if b.size() != 1 {
		t.Fatalf("%d clients remembered after a minute idle, want only the one still busy", b.size())
	}
	for i := range maxKeys + 10 {
		b.take("ip "+strconv.Itoa(i), now.Add(62*time.Second))
	}
	if n := b.size(); n > maxKeys {
		t.Fatalf("%d clients remembered, over the bound of %d", n, maxKeys)
	}
}

func errorsAs(err error, target **http.MaxBytesError) bool {
	e, ok := err.(*http.MaxBytesError)
	if ok {
		*target = e
	}
	return ok
}
