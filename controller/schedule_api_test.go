package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/schedule"
)

// startScheduled runs a controller whose schedule files are in dir.
func startScheduled(t *testing.T, dir string) *controller.Controller {
	t.Helper()
	logs := new(syncBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := controller.Start(ctx, controller.Options{
		HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		DataDir: filepath.Join(t.TempDir(), "data"), SiteCSV: siteCSV, SchedulesDir: dir, AdminPassword: adminPassword,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		cancel()
		t.Fatalf("start controller: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		cancel()
		c.Wait()
		if t.Failed() {
			t.Logf("controller log:\n%s", tail([]byte(logs.String()), 40))
		}
	})
	return c
}

// schedCall sends a JSON request (body nil for none) as the admin and decodes the answer into out.
func schedCall(t testing.TB, httpAddr, method, path string, body, out any) int {
	t.Helper()
	code, _ := callJSON(t, httpAddr, adminToken(t, httpAddr), method, path, body, out)
	return code
}

type schedView struct {
	ID, Name, Announcement, Cron, At, Timezone, Grace, Source, File, Next string
	To                                                                    []string
	Paused                                                                bool
	Error, Field, Detail                                                  string
	Line                                                                  int
}

type slotView struct {
	Due, State, What, Reason string
	DueMs                    int64  `json:"due_ms"`
	FiredMs                  int64  `json:"fired_ms"`
	BroadcastID              string `json:"broadcast_id"`
	Attempts                 int
}

func copyCaoxiMorning(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "schedules", "caoxi-morning.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "caoxi-morning.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSchedulesOverTheAPI(t *testing.T) {
	dir := t.TempDir()
	copyCaoxiMorning(t, dir)
	c := startScheduled(t, dir)
	addr := c.HTTPAddr

	var list []schedView
	if code := schedCall(t, addr, "GET", "/api/v1/schedules", nil, &list); code != 200 || len(list) != 1 {
		t.Fatalf("list %d %+v", code, list)
	}
	if m := list[0]; m.ID != "caoxi-morning" || m.Source != "file" || m.Cron != "30 7 * * *" || m.To[0] != "village:361126104201" ||
		!strings.HasSuffix(m.Next, "T07:30:00+08:00") || m.Timezone != "Asia/Shanghai" || m.Grace != "10m0s" {
		t.Fatalf("file schedule %+v", m)
	}

	// A one-off a moment ahead for an announcement that does not exist: its slot is logged
	// skipped, on time, once.
	due := time.Now().Add(1500 * time.Millisecond)
	var once schedView
	code := schedCall(t, addr, "POST", "/api/v1/schedules", map[string]any{"id": "soon", "name": "单次测试", "announcement": "demo",
		"at": due.Format(time.RFC3339Nano), "to": "village:361126104202"}, &once)
	if code != 201 || once.Source != "api" || once.To[0] != "village:361126104202" {
		t.Fatalf("create %d %+v", code, once)
	}
	var slots []slotView
	eventually(t, 10*time.Second, func() error {
		schedCall(t, addr, "GET", "/api/v1/schedules/soon/slots", nil, &slots)
		if len(slots) != 1 || slots[0].State != schedule.StateSkipped {
			return fmt.Errorf("slots %+v", slots)
		}
		return nil
	})
	s := slots[0]
	if s.Reason == "" || s.What != "已跳过" || s.Attempts != 1 || s.DueMs != due.UnixMilli() ||
		s.FiredMs-s.DueMs < 0 || s.FiredMs-s.DueMs > 3000 || s.BroadcastID != schedule.BroadcastID("soon", due) {
		t.Fatalf("slot %+v (due %d)", s, due.UnixMilli())
	}

	// Refusals: each names the field, in Chinese, and stores nothing.
	for _, bad := range []struct {
		body  map[string]any
		code  int
		field string
	}{
		{map[string]any{"name": "过去", "announcement": "a", "at": "2020-01-01 08:00"}, 400, "at"},
		{map[string]any{"name": "坏", "announcement": "a", "cron": "30 7 * *"}, 400, "cron"},
		{map[string]any{"name": "坏", "announcement": "a", "cron": "@daily", "timezone": "Beijing"}, 400, "timezone"},
		{map[string]any{"name": "坏", "announcement": "a", "cron": "@daily", "colour": "red"}, 400, "body"},
		{map[string]any{"id": "soon", "name": "重", "announcement": "a", "cron": "@daily"}, 409, "id"},
	} {
		var e schedView
		if code := schedCall(t, addr, "POST", "/api/v1/schedules", bad.body, &e); code != bad.code || e.Field != bad.field || e.Error == "" {
			t.Errorf("%v: %d %+v", bad.body, code, e)
		}
	}
	var e schedView
	schedCall(t, addr, "POST", "/api/v1/schedules", map[string]any{"name": "坏", "announcement": "a", "cron": "61 7 * * *"}, &e)
	if !strings.Contains(e.Detail, `"61 7 * * *"`) || !strings.Contains(e.Error, "61 7 * * *") {
		t.Errorf("bad cron not named: %+v", e)
	}

	// Pause, resume, delete.
	var p schedView
	if schedCall(t, addr, "POST", "/api/v1/schedules/caoxi-morning/pause", nil, &p); !p.Paused {
		t.Fatalf("pause %+v", p)
	}
	if schedCall(t, addr, "POST", "/api/v1/schedules/caoxi-morning/resume", nil, &p); p.Paused {
		t.Fatalf("resume %+v", p)
	}
	if code := schedCall(t, addr, "DELETE", "/api/v1/schedules/caoxi-morning", nil, &e); code != 409 {
		t.Fatalf("delete a file schedule: %d %+v", code, e)
	}
	if code := schedCall(t, addr, "DELETE", "/api/v1/schedules/soon", nil, nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if code := schedCall(t, addr, "GET", "/api/v1/schedules/soon", nil, &e); code != 404 {
		t.Fatalf("deleted schedule: %d", code)
	}
	if schedCall(t, addr, "GET", "/api/v1/schedules/soon/slots", nil, &slots); len(slots) != 1 {
		t.Fatalf("the slot log went with the schedule: %+v", slots)
	}

	// The week ahead holds seven morning slots.
	var week struct {
		Slots []struct {
			ScheduleID string `json:"schedule_id"`
		}
	}
	schedCall(t, addr, "GET", "/api/v1/schedules/week", nil, &week)
	if len(week.Slots) != 7 || week.Slots[0].ScheduleID != "caoxi-morning" {
		t.Fatalf("week %+v", week)
	}

	// A bad file beside a good one changes nothing, and the answer points at it.
	os.WriteFile(filepath.Join(dir, "zz-bad.yaml"), []byte("schedules:\n  - id: x\n    name: n\n    announcement: a\n    cron: \"@daily\"\n    timezone: Asia/Beijing\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "new.yaml"), []byte("schedules:\n  - id: evening\n    name: 晚间\n    announcement: a\n    cron: \"0 19 * * *\"\n"), 0o644)
	if code := schedCall(t, addr, "POST", "/api/v1/schedules/reload", nil, &e); code != 400 || e.Field != "timezone" || e.Line != 6 || !strings.Contains(e.Detail, "zz-bad.yaml") {
		t.Fatalf("bad reload: %d %+v", code, e)
	}
	if schedCall(t, addr, "GET", "/api/v1/schedules", nil, &list); len(list) != 1 {
		t.Fatalf("a refused reload applied something: %+v", list)
	}
	out, code := ebctl(t, c, "schedule", "reload")
	if code != 1 || !strings.Contains(out, "zz-bad.yaml:6") || !strings.Contains(out, "日程文件有误") {
		t.Fatalf("ebctl reload of a bad file: %d %s", code, out)
	}
	os.Remove(filepath.Join(dir, "zz-bad.yaml"))
	if out, code = ebctl(t, c, "schedule", "reload"); code != 0 || !strings.Contains(out, "新增 evening") {
		t.Fatalf("ebctl reload: %d %s", code, out)
	}
}

func TestEbctlSchedule(t *testing.T) {
	c := startScheduled(t, t.TempDir())
	at := time.Now().Add(time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")
	out, code := ebctl(t, c, "schedule", "create", "--id", "notice", "--name", "防汛通知", "--announcement", "flood-notice",
		"--at", at, "--to", "town:361126104", "--grace", "5m")
	if code != 0 || !strings.Contains(out, "已创建日程 notice") || !strings.Contains(out, "单次 "+at) || !strings.Contains(out, "5m0s") {
		t.Fatalf("create: %d\n%s", code, out)
	}
	if out, code = ebctl(t, c, "schedule", "create", "--name", "坏", "--announcement", "a", "--cron", "* * *"); code != 1 || !strings.Contains(out, "cron 表达式") {
		t.Fatalf("bad cron: %d\n%s", code, out)
	}
	if out, _ = ebctl(t, c, "schedule", "list"); !strings.Contains(out, "notice") || !strings.Contains(out, "运行中") || !strings.Contains(out, "共 1 个日程") {
		t.Fatalf("list:\n%s", out)
	}
	if out, _ = ebctl(t, c, "schedule", "pause", "notice"); !strings.Contains(out, "已暂停") {
		t.Fatalf("pause:\n%s", out)
	}
	if out, _ = ebctl(t, c, "schedule", "week"); !strings.Contains(out, "防汛通知") || !strings.Contains(out, "已暂停") {
		t.Fatalf("week:\n%s", out)
	}
	if out, _ = ebctl(t, c, "schedule", "resume", "notice"); !strings.Contains(out, "已恢复") {
		t.Fatalf("resume:\n%s", out)
	}
	if out, _ = ebctl(t, c, "schedule", "show", "notice"); !strings.Contains(out, "town:361126104") || !strings.Contains(out, "接口创建") {
		t.Fatalf("show:\n%s", out)
	}
	if out, _ = ebctl(t, c, "schedule", "slots", "notice"); !strings.Contains(out, "共 0 条") {
		t.Fatalf("slots:\n%s", out)
	}
	if out, code = ebctl(t, c, "schedule", "delete", "notice"); code != 0 || !strings.Contains(out, "已删除") {
		t.Fatalf("delete: %d\n%s", code, out)
	}
	if out, code = ebctl(t, c, "schedule", "show", "notice"); code != 1 || !strings.Contains(out, "找不到该日程") {
		t.Fatalf("show deleted: %d\n%s", code, out)
	}
}
