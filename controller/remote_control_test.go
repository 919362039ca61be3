package controller_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"dalaba/controller/receipts"
)

// Setting a terminal's volume changes the level of what it plays next; the clock check
// reports a plausible offset. Through the API and through ebctl.
func TestVolumeScalesTheNextBroadcastAndClockCheckIsPlausible(t *testing.T) {
	c := startController(t, "")
	a := startSimAgent(t, c, "t001", "361126104201001", 300*time.Millisecond)
	wav := toneWAV(t, 440, 400*time.Millisecond) // peak 0.5

	playOnce := func() float64 {
		t.Helper()
		before := len(a.sink.plays())
		id := send(t, c, "terminal:t001", "", wav)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := c.Book.Await(ctx, id, func(st string, _ receipts.Counts) bool { return st == receipts.StateFinished }); err != nil {
			t.Fatal(err)
		}
		plays := a.sink.plays()
		if len(plays) != before+1 {
			t.Fatalf("%d plays, want %d", len(plays), before+1)
		}
		return plays[len(plays)-1].Peak
	}
	if peak := playOnce(); math.Abs(peak-0.5) > 0.01 {
		t.Fatalf("at volume 100 the sink got peak %.4f, want 0.5", peak)
	}

	code, body := postJSON(t, "http://"+c.HTTPAddr+"/api/v1/terminals/t001/volume", `{"volume": 40}`)
	if code != 200 || body["ok"] != true || body["volume"] != 40.0 || body["terminal"] != "t001" {
		t.Fatalf("set volume: %d %v", code, body)
	}
	if peak := playOnce(); math.Abs(peak-0.2) > 0.01 {
		t.Fatalf("at volume 40 the sink got peak %.4f, want 0.2", peak)
	}
	out, code2 := ebctl(t, c, "volume", "t001", "0")
	if code2 != 0 || !strings.Contains(out, "终端 t001 音量已设为 0%") {
		t.Fatalf("ebctl volume: exit %d\n%s", code2, out)
	}
	eventually(t, 5*time.Second, func() error { // the heartbeat tells the volume too
		if h := terminalFromAPI(t, c, "t001"); h.Volume == nil || *h.Volume != 0 {
			return fmt.Errorf("volume in the API: %v", h.Volume)
		}
		return nil
	})

	code, body = postJSON(t, "http://"+c.HTTPAddr+"/api/v1/terminals/t001/clock-check", "")
	clock, _ := body["clock"].(map[string]any)
	if code != 200 || clock == nil {
		t.Fatalf("clock check: %d %v", code, body)
	}
	if off := clock["offset_ms"].(float64); math.Abs(off) >= 1000 {
		t.Fatalf("clock offset %v ms on one machine, want under 1 s", off)
	}
	out, code2 = ebctl(t, c, "clock-check", "t001")
	if code2 != 0 || !strings.Contains(out, "时钟比控制器") || strings.Contains(out, "请校准") {
		t.Fatalf("ebctl clock-check: exit %d\n%s", code2, out)
	}
}

// Bad control requests get a Chinese message and the right status, and nothing is sent.
func TestControlBadInput(t *testing.T) {
	c := startController(t, "")
	startSimAgent(t, c, "t001", "361126104201001", 0)
	base := "http://" + c.HTTPAddr + "/api/v1/terminals/"
	for _, tc := range []struct {
		name, path, body string
		code             int
		says             string
	}{
		{"volume 101", "t001/volume", `{"volume": 101}`, 400, "音量应为 0 到 100"},
		{"volume -1", "t001/volume", `{"volume": -1}`, 400, "音量应为 0 到 100"},
		{"volume not a number", "t001/volume", `{"volume": "loud"}`, 400, "请求格式错误"},
		{"volume fraction", "t001/volume", `{"volume": 50.5}`, 400, "请求格式错误"},
		{"no body", "t001/volume", ``, 400, "请求格式错误"},
		{"unknown field", "t001/volume", `{"volume": 50, "gain": 3}`, 400, "请求格式错误"},
		{"unknown terminal volume", "t999/volume", `{"volume": 50}`, 404, "找不到该终端"},
		{"unknown terminal clock", "t999/clock-check", ``, 404, "找不到该终端"},
		{"unknown terminal self-test", "t999/self-test", ``, 404, "找不到该终端"},
		{"offline terminal", "t002/clock-check", ``, 409, "终端离线"},
		{"self-test tone too high", "t001/self-test", `{"tone_hz": 9000}`, 400, "测试音频率"},
		{"self-test too loud", "t001/self-test", `{"level": 2}`, 400, "测试音电平"},
	} {
		code, body := postJSON(t, base+tc.path, tc.body)
		if code != tc.code || !strings.Contains(fmt.Sprint(body["error"]), tc.says) {
			t.Errorf("%s: %d %v, want %d saying %q", tc.name, code, body, tc.code, tc.says)
		}
	}
	for path, code := range map[string]int{"/api/v1/events?terminal=t999": 404, "/api/v1/events?limit=0": 400, "/api/v1/events?limit=x": 400} {
		if got, body := get(t, c, path); got != code {
			t.Errorf("GET %s: %d %v, want %d", path, got, body, code)
		}
	}
	out, code := ebctl(t, c, "volume", "t001", "101")
	if code != 1 || !strings.Contains(out, "音量应为 0 到 100") {
		t.Fatalf("ebctl volume 101: exit %d\n%s", code, out)
	}
	out, code = ebctl(t, c, "volume", "t001", "-1")
	if code != 1 || !strings.Contains(out, "音量应为 0 到 100") {
		t.Fatalf("ebctl volume -1: exit %d\n%s", code, out)
	}
	out, code = ebctl(t, c, "self-test", "t999")
	if code != 1 || !strings.Contains(out, "找不到该终端") {
		t.Fatalf("ebctl self-test t999: exit %d\n%s", code, out)
	}
	if h := terminalFromAPI(t, c, "t001"); h.Volume == nil || *h.Volume != 100 {
		t.Fatalf("volume after refused requests: %v, want 100 untouched", h.Volume)
	}
}
