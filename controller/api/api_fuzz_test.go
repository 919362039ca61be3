package api_test

// The API as the outside sees it: a real controller (store, broker, review, schedules, speech),
// driven over HTTP by a logged-in admin with arbitrary bodies.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/limits"
)

// fuzzRoute is one request the fuzzer fills: JSON bodies as given; form routes put the fuzzed
// bytes in the audio file of an otherwise valid form; pathRoute puts them in the URL.
type fuzzRoute struct {
	method, path string
	form         bool
}

const pathRoute = "/api/v1/…"

func (r fuzzRoute) key() string {
	if r.form {
		return r.method + " " + r.path + " form"
	}
	return r.method + " " + r.path
}

var fuzzRoutes = []fuzzRoute{
	{"POST", "/api/v1/login", false},
	{"POST", "/api/v1/users", false},
	{"POST", "/api/v1/announcements", false},
	{"PUT", "/api/v1/announcements/1", false},
	{"POST", "/api/v1/announcements/1/submit", false},
	{"POST", "/api/v1/announcements/1/approve", false},
	{"POST", "/api/v1/announcements/1/reject", false},
	{"POST", "/api/v1/announcements/1/publish", false},
	{"POST", "/api/v1/tts/preview", false},
	{"POST", "/api/v1/emergencies", false},
	{"POST", "/api/v1/broadcasts/0190f0f0-0000-7000-8000-000000000000/cancel", false},
	{"POST", "/api/v1/shouts", false},
	{"POST", "/api/v1/schedules", false},
	{"POST", "/api/v1/terminals/t001/volume", false},
	{"POST", "/api/v1/terminals/t001/clock-check", false},
	{"POST", "/api/v1/terminals/t001/self-test", false},
	{"POST", "/api/v1/broadcasts", true},
	{"POST", "/api/v1/emergencies", true},
	{"GET", pathRoute, false},
}

// FuzzAPI sends arbitrary bodies to every API route that reads one, as a logged-in admin. No
// request may panic the controller or get a 5xx (503 only where no speech engine exists), and
// every refusal is the API's JSON error with a message for staff.
func FuzzAPI(f *testing.F) {
	c, token := fuzzController(f)
	for i, r := range fuzzRoutes {
		for _, body := range fuzzSeeds[r.key()] {
			f.Add(uint8(i), []byte(body))
		}
	}
	client := &http.Client{Timeout: time.Minute}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req, err := fuzzRequest(c.HTTPAddr, r, body)
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (a handler panic closes the connection: see the log)", req.Method, req.URL, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code := resp.StatusCode
		if code >= 500 && !(code == http.StatusServiceUnavailable && c.TTS == nil) {
			t.Fatalf("%s %s with %q: %d %s", req.Method, req.URL, body, code, out)
		}
		if code >= 400 && r.path != pathRoute {
			var e struct{ Error string }
			if err := json.Unmarshal(out, &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s: %d without the API's error body: %q", req.Method, req.URL, code, out)
			}
		}
	})
}

func fuzzRequest(addr string, r fuzzRoute, body []byte) (*http.Request, error) {
	url := "http://" + addr + r.path
	switch {
	case r.path == pathRoute:
		return http.NewRequest("GET", "http://"+addr+"/api/v1/"+string(body), nil)
	case r.form:
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("title", "山洪预警")
		mw.WriteField("targets", "village:361126104201")
		mw.WriteField("severity", "2")
		fw, _ := mw.CreateFormFile("audio", "fuzz.wav")
		fw.Write(body)
		mw.Close()
		req, err := http.NewRequest(r.method, url, &b)
		if err == nil {
			req.Header.Set("Content-Type", mw.FormDataContentType())
		}
		return req, err
	}
	req, err := http.NewRequest(r.method, url, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

const fuzzAdminPassword = "fuzz-admin-2026"

// fuzzController starts a controller with the Caoxi site and no request rate limit (the fuzzer
// is one very busy client), logs the admin in, and prepares announcement 1: drafted by an
// editor and submitted, so that approve, reject and publish have something to act on.
func fuzzController(f *testing.F) (*controller.Controller, string) {
	dir := f.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := controller.Start(ctx, controller.Options{
		HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		DataDir: filepath.Join(dir, "data"), SchedulesDir: filepath.Join(dir, "schedules"),
		SiteCSV: filepath.Join("..", "..", "testdata", "caoxi-terminals.csv"), VoicesDir: filepath.Join("..", "..", "tts-voices"),
		AdminPassword: fuzzAdminPassword, Logger: slog.New(slog.DiscardHandler), Limits: limits.Config{Rate: -1},
	})
	if err != nil {
		cancel()
		f.Fatal(err)
	}
	f.Cleanup(func() { cancel(); c.Wait() })
	admin := login(f, c.HTTPAddr, "admin", fuzzAdminPassword)
	call(f, c.HTTPAddr, admin, "POST", "/api/v1/users", `{"name":"li","display_name":"李文书","role":"editor","password":"li-password"}`, 201)
	li := login(f, c.HTTPAddr, "li", "li-password")
	call(f, c.HTTPAddr, li, "POST", "/api/v1/announcements", fuzzSeeds["POST /api/v1/announcements"][0], 201)
	call(f, c.HTTPAddr, li, "POST", "/api/v1/announcements/1/submit", "", 200)
	return c, admin
}

func login(f *testing.F, addr, name, password string) string {
	var s struct{ Token string }
	body := call(f, addr, "", "POST", "/api/v1/login", fmt.Sprintf(`{"name":%q,"password":%q}`, name, password), 200)
	if err := json.Unmarshal(body, &s); err != nil || s.Token == "" {
		f.Fatalf("login %s: %s", name, body)
	}
	return s.Token
}

func call(f *testing.F, addr, token, method, path, body string, want int) []byte {
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		f.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		f.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return out
}

// fuzzSeeds are valid and nearly valid bodies of each route, as staff and ebctl send them.
var fuzzSeeds = map[string][]string{
	"POST /api/v1/login": {`{"name":"admin","password":"wrong-password"}`, `{"name":"nobody","password":""}`},
	"POST /api/v1/users": {`{"name":"wang","display_name":"王书记","role":"reviewer","password":"wang-password"}`,
		`{"name":"cun","display_name":"村干部","role":"editor","password":"cun-password","scope":"village:361126104201"}`},
	"POST /api/v1/announcements": {`{"title":"防汛通知","category":"执行公开","domain":"应急管理","text":"今晚有暴雨，请村民注意防范。","targets":"village:361126104201","valid_from":"2026-01-01T00:00:00+08:00","valid_until":"2036-01-01T00:00:00+08:00"}`,
		`{"key":"flood-warning","title":"山洪预警","category":"decision","domain":"finance","text":"山洪预警","targets":"town:361126104","valid_until":"2036-01-01T00:00:00Z"}`},
	"PUT /api/v1/announcements/1":          {`{"text":"改过的正文","revision":1}`, `{"title":""}`},
	"POST /api/v1/announcements/1/submit":  {``},
	"POST /api/v1/announcements/1/approve": {`{"revision":2,"acknowledge":[]}`, `{"revision":1,"acknowledge":["f1"]}`},
	"POST /api/v1/announcements/1/reject":  {`{"revision":1,"comment":"请补充时间"}`},
	"POST /api/v1/announcements/1/publish": {``},
	"POST /api/v1/tts/preview":             {`{"Text":"今晚有暴雨","Voice":""}`},
	"POST /api/v1/emergencies": {`{"severity":2,"targets":"village:361126104201","text":"山洪预警，请立即转移","title":"山洪预警","repeat":2,"interval_s":1.5,"volume":90}`,
		`{"severity":1,"targets":"town:361126104","template":"flood-warning","ends_at":"2026-01-01T00:00:00Z"}`, `{"severity":5}`},
	"POST /api/v1/broadcasts/0190f0f0-0000-7000-8000-000000000000/cancel": {`{"reason":"误发"}`},
	"POST /api/v1/shouts": {`{"title":"村委会喊话","targets":"group:361126104201001"}`},
	"POST /api/v1/schedules": {`{"id":"morning","name":"早间通知","announcement":"1","to":"village:361126104201","cron":"30 7 * * *","grace":"10m"}`,
		`{"name":"单次","announcement":"flood-warning","at":"2036-01-01 08:00","timezone":"Asia/Shanghai"}`},
	"POST /api/v1/terminals/t001/volume":      {`{"volume":60}`, `{"volume":-1}`},
	"POST /api/v1/terminals/t001/clock-check": {``},
	"POST /api/v1/terminals/t001/self-test":   {``},
	"POST /api/v1/broadcasts form":            {wav16k},
	"POST /api/v1/emergencies form":           {wav16k, "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\xff\xff\xff\xff"},
	"GET " + pathRoute: {"broadcasts/x?wait=finished&timeout=1ms", "terminals", "events?terminal=t001&limit=-1", "schedules/week?from=2026-13-01",
		"audit?object=announcement:1&limit=99999999999999999999", "public/announcements?limit=5", "announcements?state=nope", "schedules/x/slots?limit=abc"},
}

// wav16k is four samples of 16 kHz mono PCM.
const wav16k = "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\x08\x00\x00\x00\x10\x00\x20\x00\x10\x00\x20\x00"
