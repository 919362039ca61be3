package controller_test

// The input limits (package limits) on a real controller: every limit answers its own 4xx with
// a message for staff that names it, and nothing is recorded.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"dalaba/controller"
	"dalaba/controller/limits"
)

type limitAnswer struct {
	Error  string `json:"error"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func TestInputLimits(t *testing.T) {
	c, _ := startReview(t, func(o *controller.Options) {
		o.Limits = limits.Config{Rate: 1, Burst: 60, LoginRate: 1.0 / 600, LoginBurst: 3}
		o.VoicesDir = "../tts-voices"
	})
	admin := staffLogin(t, c, "admin", adminPassword) // login 1 of 3

	t.Run("JSON body over 64 KB is 413", func(t *testing.T) {
		var e limitAnswer
		body := map[string]string{"title": "x", "text": strings.Repeat("字", 30_000)} // 90 KB
		if code, raw := staffCall(t, c, admin, "POST", "/api/v1/announcements", body, &e); code != 413 || e.Error != "请求内容过大：不能超过 64 KB" {
			t.Fatalf("%d %s", code, raw)
		}
	})

	t.Run("upload declared over 65 MB is 413 before it is read", func(t *testing.T) {
		conn, err := net.Dial("tcp", c.HTTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Only the headers: the answer must come without the 70 MB.
		fmt.Fprintf(conn, "POST /api/v1/broadcasts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n", admin, 70<<20)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		var e limitAnswer
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != 413 || e.Error != "上传内容过大：不能超过 65 MB" {
			t.Fatalf("%d %+v", resp.StatusCode, e)
		}
	})

	t.Run("program over 30 minutes is 400 naming the limit", func(t *testing.T) {
		long := silentWAV(8000, 31*60) // 29.8 MB, under the size limits
		for _, path := range []string{"/api/v1/broadcasts", "/api/v1/emergencies"} {
			code, e := postForm(t, c.HTTPAddr, admin, path, map[string]string{"title": "太长的节目", "targets": "village:" + village201, "severity": "3"}, long)
			if code != 400 || e.Field != "audio" || e.Error != "音频时长 31 分钟 超过上限 30 分钟，请剪短或分段播出" {
				t.Fatalf("%s: %d %+v", path, code, e)
			}
		}
		var list []any
		staffMust(t, 200, c, admin, "GET", "/api/v1/broadcasts", nil, &list)
		if len(list) != 0 {
			t.Fatalf("refused programs were recorded: %v", list)
		}
		if code, e := postForm(t, c.HTTPAddr, admin, "/api/v1/broadcasts", map[string]string{"title": "正好", "targets": "terminal:t001"}, silentWAV(8000, 2)); code != 201 {
			t.Fatalf("a 2 s program: %d %+v", code, e)
		}
	})

	t.Run("text over its length is 400 naming the field", func(t *testing.T) {
		staffMust(t, 201, c, admin, "POST", "/api/v1/users", map[string]string{"name": "li", "display_name": "李文书", "role": "editor", "password": "li-password"}, nil)
		li := staffLogin(t, c, "li", "li-password") // login 2 of 3
		var a struct{ ID int64 }
		staffMust(t, 201, c, li, "POST", "/api/v1/announcements", map[string]any{"title": "防汛通知", "category": "执行公开", "domain": "应急管理",
			"text": "今晚有暴雨。", "targets": "village:" + village201, "valid_until": "2036-01-01T00:00:00+08:00"}, &a)
		staffMust(t, 200, c, li, "POST", fmt.Sprintf("/api/v1/announcements/%d/submit", a.ID), nil, nil)

		long := func(n int) string { return strings.Repeat("长", n) }
		cases := []struct {
			what, method, path string
			body               any
			field, msg         string
		}{
			{"announcement title", "POST", "/api/v1/announcements", map[string]any{"title": long(101), "category": "执行公开", "domain": "应急管理",
				"text": "x", "targets": "village:" + village201, "valid_until": "2036-01-01T00:00:00+08:00"}, "title", "公告标题不能超过 100 个字"},
			{"announcement text", "POST", "/api/v1/announcements", map[string]any{"title": "t", "category": "执行公开", "domain": "应急管理",
				"text": long(2001), "targets": "village:" + village201, "valid_until": "2036-01-01T00:00:00+08:00"}, "text", "公告正文不能超过 2000 个字"},
			{"review comment", "POST", fmt.Sprintf("/api/v1/announcements/%d/reject", a.ID), map[string]any{"revision": 1, "comment": long(501)}, "comment", "审核意见不能超过 500 个字"},
			{"emergency text", "POST", "/api/v1/emergencies", map[string]any{"severity": 3, "targets": "village:" + village201, "title": "t", "text": long(2001)}, "text", "应急广播文字不能超过 2000 个字"},
			{"emergency title", "POST", "/api/v1/emergencies", map[string]any{"severity": 3, "targets": "village:" + village201, "title": long(201), "text": "撤离"}, "title", "广播标题不能超过 200 个字"},
			{"cancel reason", "POST", "/api/v1/broadcasts/no-such-broadcast/cancel", map[string]any{"reason": long(201)}, "reason", "取消原因不能超过 200 个字"},
			{"shout title", "POST", "/api/v1/shouts", map[string]any{"title": long(201), "targets": "village:" + village201}, "title", "广播标题不能超过 200 个字"},
			{"schedule name", "POST", "/api/v1/schedules", map[string]any{"name": long(101), "announcement": "1", "cron": "30 7 * * *"}, "name", "不超过 100 字"},
			{"display name", "POST", "/api/v1/users", map[string]any{"name": "wang", "display_name": long(51), "role": "reviewer", "password": "wang-password"}, "display_name", "姓名不能超过 50 个字"},
		}
		if c.TTS != nil {
			cases = append(cases, struct {
				what, method, path string
				body               any
				field, msg         string
			}{"speech preview", "POST", "/api/v1/tts/preview", map[string]any{"Text": long(2001)}, "text", "无法合成语音"})
		}
		for _, tc := range cases {
			var e limitAnswer
			code, raw := staffCall(t, c, admin, tc.method, tc.path, tc.body, &e)
			if code != 400 || e.Field != tc.field || !strings.Contains(e.Error, tc.msg) {
				t.Errorf("%s: %d %s; want 400, field %s, %q", tc.what, code, raw, tc.field, tc.msg)
			}
		}
		code, e := postForm(t, c.HTTPAddr, admin, "/api/v1/broadcasts", map[string]string{"title": long(201), "targets": "terminal:t001"}, silentWAV(8000, 1))
		if code != 400 || e.Field != "title" || e.Error != "广播标题不能超过 200 个字" {
			t.Errorf("broadcast title: %d %+v", code, e)
		}
	})

	t.Run("login attempts per address are 429 past the burst", func(t *testing.T) {
		staffMust(t, 401, c, "", "POST", "/api/v1/login", map[string]string{"name": "nobody", "password": "guess-1"}, nil) // 3 of 3
		req, _ := http.NewRequest("POST", "http://"+c.HTTPAddr+"/api/v1/login", strings.NewReader(`{"name":"nobody","password":"guess-2"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e limitAnswer
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if secs, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || secs < 1 || secs > 600 || !strings.HasPrefix(e.Error, "登录尝试过于频繁，请 ") {
			t.Fatalf("4th login: %d Retry-After %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), e)
		}
		staffMust(t, 200, c, admin, "GET", "/api/v1/users", nil, nil) // the rest of the API still answers
	})

	t.Run("requests per client are 429 past the burst, staff counted apart", func(t *testing.T) {
		var last *http.Response
		for i := 0; i < 200; i++ {
			resp, err := http.Get("http://" + c.HTTPAddr + "/api/v1/public/announcements")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 429 {
				last = resp
				break
			}
			if resp.StatusCode != 200 {
				t.Fatalf("request %d: %d", i+1, resp.StatusCode)
			}
		}
		if last == nil || last.Header.Get("Retry-After") == "" {
			t.Fatalf("200 anonymous requests at once from one address were all served (burst 60)")
		}
		// The admin, on the same address, has a bucket of her own.
		staffMust(t, 200, c, admin, "GET", "/api/v1/public/announcements", nil, nil)
	})
}

// silentWAV is seconds of 16-bit mono silence at rate.
func silentWAV(rate, seconds int) []byte {
	data := rate * 2 * seconds
	b := make([]byte, 44+data)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	return b
}

// postForm sends a multipart form with the WAV as its audio file, as the admin.
func postForm(t *testing.T, addr, token, path string, fields map[string]string, wav []byte) (int, limitAnswer) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("audio", "program.wav")
	fw.Write(wav)
	mw.Close()
	req, _ := http.NewRequest("POST", "http://"+addr+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e limitAnswer
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e
}
