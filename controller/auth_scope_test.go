package controller_test

// Scopes on every route, on a real controller with a real agent: a village's staff send,
// schedule, announce and control only inside their village, and read only what lies there;
// each refusal is a 403 in Chinese and in the audit log, and each allowed call is audited.

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScopesOnBroadcastsSchedulesTerminalsAndAnnouncements(t *testing.T) {
	c, _ := startReview(t, nil)
	agent := startAgent(t, c, "", "t001", "361126104201001")
	waitOnline(t, c, agent)
	admin := staffLogin(t, c, "admin", adminPassword)
	village := "village:" + village201
	staff := map[string]string{}
	for name, role := range map[string]string{"cunguan": "admin", "cun": "reviewer", "cunbian": "editor"} {
		staffMust(t, 201, c, admin, "POST", "/api/v1/users", map[string]string{"name": name, "role": role,
			"password": name + "-password", "scope": village}, nil)
		staff[name] = staffLogin(t, c, name, name+"-password")
	}
	wav := toneWAV(t, 700, 200*time.Millisecond)

	// Broadcasts: inside the village only; the list and the reports show only the village's.
	code, body := staffForm(t, c, staff["cun"], "/api/v1/broadcasts", map[string]string{"title": "村内通知", "targets": "village:" + village202}, wav)
	if code != 403 || !strings.Contains(body["error"].(string), "超出您的广播范围") {
		t.Fatalf("village reviewer broadcasts to another village: %d %v, want 403", code, body)
	}
	code, body = staffForm(t, c, staff["cun"], "/api/v1/broadcasts", map[string]string{"title": "村内通知", "targets": "terminal:t001"}, wav)
	if code != 201 {
		t.Fatalf("village reviewer broadcasts to its terminal: %d %v", code, body)
	}
	own := body["id"].(string)
	code, body = staffForm(t, c, admin, "/api/v1/broadcasts", map[string]string{"title": "全镇通知", "targets": "town:" + caoxiTown}, wav)
	if code != 201 {
		t.Fatalf("town admin broadcasts: %d %v", code, body)
	}
	town := body["id"].(string)
	var list []struct{ ID string }
	staffMust(t, 200, c, staff["cunbian"], "GET", "/api/v1/broadcasts", nil, &list)
	if len(list) != 1 || list[0].ID != own {
		t.Fatalf("the village editor lists %+v, want only %s", list, own)
	}
	staffMust(t, 200, c, admin, "GET", "/api/v1/broadcasts", nil, &list)
	if len(list) != 2 {
		t.Fatalf("the town admin lists %d broadcasts, want 2", len(list))
	}
	staffMust(t, 200, c, staff["cunbian"], "GET", "/api/v1/broadcasts/"+own, nil, nil)
	for _, p := range []string{"/api/v1/broadcasts/" + town, "/api/v1/broadcasts/" + town + "/as-played.csv"} {
		wantRefusal(t, c, staff["cunbian"], "GET", p, nil, 403, "超出您的广播范围")
	}
	wantRefusal(t, c, staff["cun"], "POST", "/api/v1/broadcasts/"+town+"/cancel", nil, 403, "超出您的广播范围")

	// Terminals and their events: the village's; control of the village's terminals only.
	var terms []struct{ ID string }
	staffMust(t, 200, c, staff["cunbian"], "GET", "/api/v1/terminals", nil, &terms)
	if len(terms) != 12 || terms[0].ID != "t001" || terms[11].ID != "t012" {
		t.Fatalf("village terminals %+v, want t001-t012", terms)
	}
	wantRefusal(t, c, staff["cunbian"], "GET", "/api/v1/events?terminal=t013", nil, 403, "超出您的广播范围")
	staffMust(t, 200, c, staff["cunbian"], "GET", "/api/v1/events?terminal=t001", nil, nil)
	wantRefusal(t, c, staff["cunguan"], "POST", "/api/v1/terminals/t013/volume", map[string]int{"volume": 30}, 403, "超出您的广播范围")
	wantRefusal(t, c, staff["cunguan"], "POST", "/api/v1/terminals/t013/clock-check", nil, 403, "超出您的广播范围")
	staffMust(t, 200, c, staff["cunguan"], "POST", "/api/v1/terminals/t001/volume", map[string]int{"volume": 30}, nil)

	// Schedules: created, read and managed inside the scope; one for an announcement that does
	// not exist yet only by someone who covers the whole site.
	newSched := func(id, to string) map[string]any {
		m := map[string]any{"id": id, "name": id, "announcement": "morning-notice", "cron": "30 7 * * *"}
		if to != "" {
			m["to"] = to
		}
		return m
	}
	wantRefusal(t, c, staff["cunguan"], "POST", "/api/v1/schedules", newSched("other", "village:"+village202), 403, "超出您的广播范围")
	wantRefusal(t, c, staff["cunguan"], "POST", "/api/v1/schedules", newSched("unknown", ""), 403, "无法确认日程的广播范围")
	staffMust(t, 201, c, staff["cunguan"], "POST", "/api/v1/schedules", newSched("cun-morning", village), nil)
	staffMust(t, 201, c, admin, "POST", "/api/v1/schedules", newSched("town-morning", "town:"+caoxiTown), nil)
	staffMust(t, 201, c, admin, "POST", "/api/v1/schedules", newSched("town-unknown", ""), nil)
	var scheds []struct{ ID string }
	staffMust(t, 200, c, staff["cunbian"], "GET", "/api/v1/schedules", nil, &scheds)
	if len(scheds) != 1 || scheds[0].ID != "cun-morning" {
		t.Fatalf("the village editor lists schedules %+v, want cun-morning only", scheds)
	}
	var week struct {
		Slots []struct {
			ScheduleID string `json:"schedule_id"`
		}
	}
	staffMust(t, 200, c, staff["cunbian"], "GET", "/api/v1/schedules/week", nil, &week)
	if len(week.Slots) != 7 || slices.ContainsFunc(week.Slots, func(s struct {
		ScheduleID string `json:"schedule_id"`
	}) bool {
		return s.ScheduleID != "cun-morning"
	}) {
		t.Fatalf("the village editor's week: %+v, want the 7 slots of cun-morning", week.Slots)
	}
	for _, p := range []string{"/api/v1/schedules/town-morning", "/api/v1/schedules/town-morning/slots", "/api/v1/schedules/town-unknown"} {
		wantRefusal(t, c, staff["cunbian"], "GET", p, nil, 403, "超出您的")
	}
	wantRefusal(t, c, staff["cunguan"], "POST", "/api/v1/schedules/town-morning/pause", nil, 403, "超出您的广播范围")
	wantRefusal(t, c, staff["cunguan"], "DELETE", "/api/v1/schedules/town-morning", nil, 403, "超出您的广播范围")
	staffMust(t, 200, c, staff["cunguan"], "POST", "/api/v1/schedules/cun-morning/pause", nil, nil)

	// Announcements: written and read inside the scope.
	ann := announcementBody("村务公告")
	ann["targets"] = "village:" + village202
	wantRefusal(t, c, staff["cunbian"], "POST", "/api/v1/announcements", ann, 403, "超出您的广播范围")
	ann["targets"] = village
	mine := createAnnouncement(t, c, staff["cunbian"], ann)
	townAnn := createAnnouncement(t, c, admin, announcementBody("全镇公告"))
	wantRefusal(t, c, staff["cunbian"], "GET", annPath(townAnn.ID, ""), nil, 403, "超出您的广播范围")
	wantRefusal(t, c, staff["cun"], "POST", annPath(townAnn.ID, "submit"), nil, 403, "超出您的广播范围")
	wantRefusal(t, c, staff["cunbian"], "PUT", annPath(mine.ID, ""), map[string]any{"targets": "town:" + caoxiTown}, 403, "超出您的广播范围")
	var anns []apiAnnouncement
	staffMust(t, 200, c, staff["cunbian"], "GET", "/api/v1/announcements", nil, &anns)
	if len(anns) != 1 || anns[0].ID != mine.ID {
		t.Fatalf("the village editor lists announcements %+v, want only its own", anns)
	}

	// The audit log: each allowed call with its status, each refusal with who and where.
	type entry struct {
		Actor, Action, Object string
		After                 struct {
			Status int
			Why    string
			Error  string
		}
	}
	var audit []entry
	staffMust(t, 200, c, admin, "GET", "/api/v1/audit?limit=1000", nil, &audit)
	has := func(actor, action, object string, status int) bool {
		return slices.ContainsFunc(audit, func(e entry) bool {
			return e.Actor == actor && e.Action == action && e.Object == object && (status == 0 || e.After.Status == status)
		})
	}
	for _, w := range []struct {
		actor, action, object string
		status                int
	}{
		{"cun", "broadcast", "broadcast:" + own, 201},
		{"cun", "broadcast", "broadcast:", 403},
		{"admin", "broadcast", "broadcast:" + town, 201},
		{"cunguan", "volume", "terminal:t013", 403},
		{"cunguan", "volume", "terminal:t001", 200},
		{"cunguan", "clock_check", "terminal:t013", 403},
		{"cunguan", "schedule_create", "schedule:cun-morning", 201},
		{"cunguan", "schedule_create", "schedule:", 403},
		{"cunguan", "schedule_pause", "schedule:town-morning", 403},
		{"cunguan", "schedule_delete", "schedule:town-morning", 403},
		{"cunguan", "schedule_pause", "schedule:cun-morning", 200},
		{"cunbian", "read_denied", "broadcast:" + town, 0},
		{"cunbian", "read_denied", "terminal:t013", 0},
		{"cunbian", "read_denied", "schedule:town-morning", 0},
		{"cun", "cancel_denied", "broadcast:" + town, 0},
		{"cunbian", "announcement_denied", "user:cunbian", 0},
		{"cunbian", "announcement_denied", "announcement:" + itoa(townAnn.ID), 0},
	} {
		if !has(w.actor, w.action, w.object, w.status) {
			t.Errorf("no audit entry %s %s %s (status %d)", w.actor, w.action, w.object, w.status)
		}
	}
	var vol []entry
	staffMust(t, 200, c, admin, "GET", "/api/v1/audit?object="+url.QueryEscape("terminal:t001"), nil, &vol)
	if len(vol) == 0 || vol[0].Action != "volume" || vol[0].After.Status != 200 {
		t.Errorf("audit of terminal:t001: %+v, want the volume change first", vol)
	}
}
