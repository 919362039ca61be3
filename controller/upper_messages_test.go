package controller_test

// Township staff see what the county sent down (GET /api/v1/upper-messages): each message,
// what it did here, and its state and coverage, filtered by their scope.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"dalaba/controller/api"
	"dalaba/controller/cascade"
	"dalaba/controller/receipts"
)

func TestUpperMessagesForStaff(t *testing.T) {
	// A controller outside any cascade says so, and lists nothing.
	plain, _ := startReview(t, nil)
	var none api.UpperMessagesJSON
	staffMust(t, 200, plain, staffLogin(t, plain, "admin", adminPassword), "GET", "/api/v1/upper-messages", nil, &none)
	if none.Cascade || none.Messages == nil || len(none.Messages) != 0 {
		t.Errorf("a controller outside a cascade answers %+v, want cascade false and an empty list", none)
	}

	county := validUpper(t, "county", countyID, cascade.AlgSM2)
	dataDir, _ := cascadeDir(t, "曹溪镇应急广播平台")
	c := startCascade(t, dataDir, fmt.Sprintf(`platform_id: "%s"
name: 曹溪镇应急广播平台
upper:
  - {name: county, cert: %s}
drills: "off"
`, townshipID, county.certFile), true, nil)
	agents := []*agentProc{startAgent(t, c, "", "t001", group201001), startAgent(t, c, "", "t002", group201001)}
	waitOnline(t, c, agents...)
	admin := staffLogin(t, c, "admin", adminPassword)
	for name, scope := range map[string]string{"zu": "group:" + group201001, "cun202": "village:" + village202} {
		staffMust(t, 201, c, admin, "POST", "/api/v1/users", map[string]string{"name": name, "role": "editor",
			"password": name + "-password", "scope": scope}, nil)
	}

	// A red alert for 杨家坪 plays on its two horns; a drill is taken and not played here.
	tone := toneWAV(t, 440, 400*time.Millisecond)
	if code, desc, _ := county.send(t, c, msg{ebmSeq: 1, severity: 1, areas: group201001, title: "山洪红色预警", audio: tone}); code != cascade.ResultOK {
		t.Fatalf("red alert: %d %s", code, desc)
	}
	if code, desc, _ := county.send(t, c, msg{ebmSeq: 2, typ: cascade.MsgDrillTerminal, severity: 4, areas: group201001, title: "应急演练", audio: tone}); code != cascade.ResultOK {
		t.Fatalf("drill: %d %s", code, desc)
	}
	red := "ebm-" + county.ebmID(1)
	for _, a := range agents {
		awaitReceipt(t, c, red, a.id, func(r receipts.Receipt) bool { return r.State.Final() })
	}

	var got api.UpperMessagesJSON
	staffMust(t, 200, c, admin, "GET", "/api/v1/upper-messages", nil, &got)
	if got.Below == nil || len(got.Below) != 0 {
		t.Errorf("a township relaying to nobody lists platforms below: %+v", got.Below)
	}
	if !got.Cascade || len(got.Messages) != 2 {
		t.Fatalf("the admin sees %+v, want both messages", got)
	}
	drill, alert := got.Messages[0], got.Messages[1] // newest first
	if alert.Title != "山洪红色预警" || alert.Issuer != "county" || alert.Severity != 1 || alert.BroadcastID != red ||
		alert.State != cascade.BrdSuccess || alert.StateText != "播发成功" || alert.Cancelled != nil {
		t.Errorf("the red alert reads %+v, want county's 山洪红色预警, severity 1, broadcast %s, 3 播发成功", alert, red)
	}
	if len(alert.Coverage) != 1 || alert.Coverage[0].Area != group201001 || alert.Coverage[0].Total != 2 ||
		alert.Coverage[0].Played != 2 || alert.Coverage[0].Rate != "100.0" {
		t.Errorf("the red alert's coverage %+v, want %s: 2 of 2, 100.0", alert.Coverage, group201001)
	}
	if drill.Title != "应急演练" || drill.BroadcastID != "" {
		t.Errorf("the drill reads %+v, want 应急演练 with no broadcast here (drills off)", drill)
	}

	// ebctl upper shows the same.
	out, code := ebctl(t, c, "upper")
	for _, want := range []string{"山洪红色预警", "红色", "播发成功", group201001 + " 2/2（100.0%）", red, "应急演练", "蓝色（演练）", "未播出", "共 2 条上级消息"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("ebctl upper: exit %d, want %q in:\n%s", code, want, out)
		}
	}
	if out, code := ebctl(t, plain, "upper"); code != 0 || !strings.Contains(out, "未接入上级") {
		t.Errorf("ebctl upper outside a cascade: exit %d:\n%s", code, out)
	}

	// Scopes: the group's editor sees the alert that played there, not the drill that played
	// nowhere; another village's sees neither.
	staffMust(t, 200, c, staffLogin(t, c, "zu", "zu-password"), "GET", "/api/v1/upper-messages", nil, &got)
	if len(got.Messages) != 1 || got.Messages[0].BroadcastID != red {
		t.Errorf("the group's editor sees %+v, want only the red alert", got.Messages)
	}
	staffMust(t, 200, c, staffLogin(t, c, "cun202", "cun202-password"), "GET", "/api/v1/upper-messages", nil, &got)
	if len(got.Messages) != 0 {
		t.Errorf("another village's editor sees %+v, want nothing", got.Messages)
	}

	// A limit.
	staffMust(t, 200, c, admin, "GET", "/api/v1/upper-messages?limit=1", nil, &got)
	if len(got.Messages) != 1 || got.Messages[0].Title != "应急演练" {
		t.Errorf("limit 1 gives %+v, want the newest", got.Messages)
	}
	for _, bad := range []string{"0", "-3", "x", "100000"} {
		code, raw := staffCall(t, c, admin, "GET", "/api/v1/upper-messages?limit="+bad, nil, nil)
		if code != 400 || !strings.Contains(string(raw), "limit 应为") {
			t.Errorf("limit=%s: %d %s, want 400 saying what limit should be", bad, code, raw)
		}
	}
}
