package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"dalaba/controller/api"
)

// fakeAPI answers the API calls the pages make with canned JSON, for tests of the console's
// own work: sessions, CSRF, templates. The real API is behind it in the end-to-end test
// (controller/web_e2e_test.go).
func fakeAPI(t *testing.T) http.Handler {
	canned := map[string]string{
		"POST /api/v1/login": `{"token":"tok-1","expires_at":"2030-01-01T00:00:00Z"}`,
		"GET /api/v1/me":     `{"name":"wang","display_name":"王书记","role":"admin","scope":"town:361126104","scope_name":"曹溪镇"}`,
		"GET /api/v1/terminals": `[{"id":"t001","town_code":"361126104","town_name":"曹溪镇","village_code":"361126104201","village_name":"曹溪村",
			"group_code":"361126104201001","group_name":"杨家坪","latitude":28.42,"longitude":117.35,"online":true,"work_state":"playing","volume":60,"faults":[]},
			{"id":"t002","town_code":"361126104","town_name":"曹溪镇","village_code":"361126104201","village_name":"曹溪村",
			"group_code":"361126104201001","group_name":"杨家坪","latitude":28.43,"longitude":117.36,"online":false,"faults":[{"name":"功放故障"}]}]`,
		"GET /api/v1/announcements": `[{"id":7,"title":"通知","text":"电话13912345678","targets":"village:361126104201","author":"li","revision":1,
			"state":"submitted","state_name":"待审核","flags":[{"id":"F1","label":"手机号码","masked":"139****5678"}]}]`,
		"GET /api/v1/broadcasts": `[{"id":"b1","title":"通知","targets":"village:361126104201","state":"finished"}]`,
		"GET /api/v1/broadcasts/b1": `{"id":"b1","title":"通知","state":"active","counts":{"done":1,"offline":1},
			"villages":[{"code":"361126104201","name":"曹溪村","total":2,"counts":{"done":1},"coverage":50}],
			"not_played":[{"terminal":"t002","village":"361126104201","state":"offline","why":"发送时终端离线"}],"receipts":[{},{}]}`,
		"GET /api/v1/schedules/week": `{"slots":[{"schedule_id":"s1","name":"早间","announcement":"7","to":["village:361126104201"],"due_ms":1893456000000}]}`,
		"GET /api/v1/schedules":      `[{"id":"s1","name":"早间","announcement":"7","cron":"30 7 * * *","source":"api"}]`,
		"POST /api/v1/announcements": `{"error":"请填写公告标题","field":"title"}`,
		"GET /api/v1/upper-messages": `{"cascade":true,"messages":[
			{"id":"E2","issuer":"county","title":"应急演练","severity":4,"drill":true,"areas":["361126104201001"],"received":"2026-11-22T10:01:00Z",
				"end":"2026-11-22T11:00:00Z","state":0,"state_text":"未处理","coverage":[{"area":"361126104201001","total":0,"played":0,"rate":"0.0"}]},
			{"id":"E1","issuer":"county","title":"山洪红色预警","severity":1,"areas":["361126104201001"],"broadcast_id":"ebm-E1","relayed_to":["下级平台"],
				"received":"2026-11-22T10:00:00Z","end":"2026-11-22T11:00:00Z","state":3,"state_text":"播发成功",
				"coverage":[{"area":"361126104201001","total":2,"played":2,"rate":"100.0"}]}],
			"below":[{"name":"下级平台","areas":["361126104202"],"last_heartbeat":"2026-11-22T10:02:00Z","silent":true,"terminals_on":7,"terminals_total":12}]}`,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/login" && r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"请先登录"}`)
			return
		}
		body, ok := canned[r.Method+" "+r.URL.Path]
		if !ok {
			t.Errorf("unexpected API call %s %s", r.Method, r.URL)
			w.WriteHeader(404)
			return
		}
		if strings.Contains(body, `"error"`) {
			w.WriteHeader(400)
		}
		io.WriteString(w, body)
	})
}

func newTestConsole(t *testing.T) http.Handler {
	c, err := New(Options{API: fakeAPI(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c.Handler()
}

func do(h http.Handler, method, target string, form url.Values, cookie string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSignInSetsStrictSessionCookie(t *testing.T) {
	h := newTestConsole(t)
	if w := do(h, "GET", "/fleet", nil, ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next=%2Ffleet" {
		t.Fatalf("anonymous /fleet: %d %q, want a redirect to sign in", w.Code, w.Header().Get("Location"))
	}
	w := do(h, "POST", "/login", url.Values{"name": {"wang"}, "password": {"pw"}, "next": {"//evil.example/"}}, "")
	ck := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/fleet" || len(ck) != 1 {
		t.Fatalf("sign-in: %d %q %v, want a session cookie and /fleet (not the foreign next)", w.Code, w.Header().Get("Location"), ck)
	}
	if c := ck[0]; c.Value != "tok-1" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
		t.Fatalf("cookie %+v: want the API's token, HttpOnly, SameSite=Strict, not Secure over plain HTTP", c)
	}
	w = do(h, "POST", "/login", url.Values{"name": {""}, "password": {""}}, "")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "请输入用户名") || !strings.Contains(w.Body.String(), "请输入密码") {
		t.Fatalf("empty sign-in: %d, want both fields' messages: %s", w.Code, w.Body)
	}
}

func TestFormPostsNeedTheSessionsCSRFToken(t *testing.T) {
	h := newTestConsole(t)
	if w := do(h, "POST", "/compose", url.Values{"title": {""}}, "tok-1"); w.Code != http.StatusForbidden {
		t.Fatalf("compose without a CSRF token: %d, want 403", w.Code)
	}
	if w := do(h, "POST", "/compose", url.Values{"title": {""}, "csrf": {"0123456789abcdef0123456789abcdef"}}, "tok-1"); w.Code != http.StatusForbidden {
		t.Fatalf("compose with a wrong CSRF token: %d, want 403", w.Code)
	}
	page := do(h, "GET", "/compose", nil, "tok-1").Body.String()
	i := strings.Index(page, `name="csrf" value="`)
	if i < 0 {
		t.Fatalf("no CSRF token on the compose page")
	}
	token := page[i+len(`name="csrf" value="`):][:32]
	w := do(h, "POST", "/compose", url.Values{"csrf": {token}, "source": {"text"}}, "tok-1")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="field-title"`) ||
		!strings.Contains(w.Body.String(), `<p class="field-error">请填写公告标题</p>`) {
		t.Fatalf("compose with the token and no title: %d, want the API's message next to the title: %s", w.Code, w.Body)
	}
}

func TestEveryPageRenders(t *testing.T) {
	h := newTestConsole(t)
	for path, want := range map[string]string{
		"/fleet": "功放故障", "/compose": "试听语音", "/review": "139****5678", "/broadcasts": "通知",
		"/broadcasts/b1": "发送时终端离线", "/broadcasts/b1/live": "50%", "/schedules": "早间", "/emergency": "应急级别", "/shout": "开始喊话", "/upper": "山洪红色预警",
	} {
		w := do(h, "GET", path, nil, "tok-1")
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d, want 200 with %q:\n%s", path, w.Code, want, w.Body)
		}
	}
}

// The upper-level messages page shows each message's level, what it did here and its coverage.
func TestUpperMessagesPage(t *testing.T) {
	w := do(newTestConsole(t), "GET", "/upper", nil, "tok-1")
	body := w.Body.String()
	for _, want := range []string{
		`<a href="/broadcasts/ebm-E1">山洪红色预警</a>`, "Ⅰ级 特别重大（红色）", "播发成功", "361126104201001：2/2（100.0%）", "已转发：下级平台",
		"应急演练 <span class=\"hint\">（本镇未播出）</span>", "Ⅳ级 一般（蓝色）", `<span class="badge">演练</span>`, "2026-11-22 18:00:00",
		"下级平台 <span class=\"badge b-fault\">失联</span>", "<td>7/12</td>", "2026-11-22 18:02:00",
	} {
		if w.Code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /upper: %d, want %q in:\n%s", w.Code, want, body)
		}
	}
	if strings.Index(body, "应急演练") > strings.Index(body, "山洪红色预警") {
		t.Error("GET /upper: the messages are not in the API's order (newest first)")
	}
}

func TestMapPlotsTerminalsInsideTheBox(t *testing.T) {
	at := func(id string, lat, lon float64) terminal {
		return terminal{api.TerminalJSON{ID: id, Latitude: lat, Longitude: lon}}
	}
	m := plot([]terminal{at("a", 28.40, 117.30), at("b", 28.50, 117.40), at("c", 0, 0)})
	if len(m.Dots) != 2 {
		t.Fatalf("%d dots, want 2 (a terminal without coordinates is left off)", len(m.Dots))
	}
	// North is up: b (further north and east) is right of and above a.
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	if f(m.Dots[0].X) >= f(m.Dots[1].X) || f(m.Dots[0].Y) <= f(m.Dots[1].Y) || f(m.Dots[1].X) > float64(m.W) || f(m.Dots[0].Y) > float64(m.H) {
		t.Fatalf("dots %+v: want b north-east of a", m.Dots)
	}
}
