package controller_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"dalaba/controller"
)

// The review workflow on one controller with one staff team (bcrypt makes logins slow under the
// race detector): an editor li, reviewers wang and zhao, and the admin.
func TestReviewWorkflow(t *testing.T) {
	c, _ := startReview(t, nil)
	tok := staffTeam(t, c)
	t.Run("login and roles", func(t *testing.T) { testLoginAndRoles(t, c, tok) })
	t.Run("drafted, submitted, approved by another", func(t *testing.T) { testApprovedByAnother(t, c, tok) })
	t.Run("author cannot review own", func(t *testing.T) { testAuthorCannotReviewOwn(t, c, tok) })
	t.Run("approval of an edited revision conflicts", func(t *testing.T) { testEditedRevisionConflicts(t, c, tok) })
	t.Run("rejected needs a comment, edited back to draft", func(t *testing.T) { testRejectAndResubmit(t, c, tok) })
}

// The whole road: an editor drafts and submits; the secrecy check flags a mobile number and a
// sensitive term; a reviewer must acknowledge both, then approves the revision they read; the
// controller's side schedules it and marks it done; the history and the audit log have it all.
func testApprovedByAnother(t *testing.T, c *controller.Controller, tok map[string]string) {
	body := announcementBody("关于发放2026年耕地地力保护补贴的通知")
	body["text"] = "各位村民：补贴本周发放，有疑问请打 138 1234 5678 找李会计。名单为内部资料，不在广播中宣读。"
	a := createAnnouncement(t, c, tok["li"], body)
	if a.State != "draft" || a.Revision != 1 || a.Author != "li" || a.Category != "decision" || a.Domain != "farm_subsidy" {
		t.Fatalf("created %+v", a)
	}
	if strings.Join(a.Villages, ",") != "曹溪村,东港村" || a.Targets != "village:361126104201,group:361126104202001" {
		t.Fatalf("villages %v, targets %s", a.Villages, a.Targets)
	}

	staffMust(t, 200, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, &a)
	if a.State != "submitted" || len(a.Flags) != 2 {
		t.Fatalf("submitted: %+v", a)
	}
	if f := a.Flags[0]; f.ID != "F1" || f.Kind != "mobile" || f.Masked != "138****5678" || f.Field != "text" {
		t.Fatalf("flag 1: %+v", f)
	}
	if f := a.Flags[1]; f.ID != "F2" || f.Kind != "sensitive_term" || f.Masked != "内部资料" {
		t.Fatalf("flag 2: %+v", f)
	}

	approve := func(ack ...string) (int, map[string]any) {
		var out map[string]any
		code, _ := staffCall(t, c, tok["wang"], "POST", annPath(a.ID, "approve"),
			map[string]any{"revision": 1, "comment": "已核实，同意播出", "acknowledge": ack}, &out)
		return code, out
	}
	if code, out := approve(); code != 422 || !strings.Contains(out["error"].(string), "F1、F2") || len(out["unacknowledged"].([]any)) != 2 {
		t.Fatalf("approve without acknowledging: %d %v", code, out)
	}
	if code, out := approve("F1"); code != 422 || strings.Join(strs(out["unacknowledged"]), ",") != "F2" {
		t.Fatalf("approve acknowledging F1 only: %d %v", code, out)
	}
	if code, out := approve("F1", "F9"); code != 400 || out["field"] != "acknowledge" {
		t.Fatalf("approve acknowledging an unknown flag: %d %v", code, out)
	}
	if code, out := approve("F1", "F2"); code != 200 || out["state"] != "approved" || out["reviewer"] != "wang" {
		t.Fatalf("approve: %d %v", code, out)
	}

	ctx := context.Background()
	got, err := c.Review.Approved(ctx, a.ID)
	if err != nil || got.Text != body["text"] || got.Voice != "xiaoyan" {
		t.Fatalf("Approved: %+v, %v", got, err)
	}
	if err := c.Review.MarkScheduled(ctx, a.ID, "schedule"); err != nil {
		t.Fatal(err)
	}
	if err := c.Review.MarkDone(ctx, a.ID, "0190a3f0-0000-7000-8000-000000000001"); err != nil {
		t.Fatal(err)
	}

	staffMust(t, 200, c, tok["li"], "GET", annPath(a.ID, ""), nil, &a)
	if a.State != "done" || !a.Flags[0].Acknowledged || !a.Flags[1].Acknowledged {
		t.Fatalf("done: %+v", a)
	}
	var actions []string
	for _, h := range a.History {
		actions = append(actions, h.Actor+":"+h.Action)
	}
	if strings.Join(actions, " ") != "li:create li:submit wang:approve schedule:schedule system:done" {
		t.Fatalf("history %v", actions)
	}

	// The audit log, newest first, has the object before and after every change.
	var audit []struct {
		Actor, Action, Object string
		Before, After         json.RawMessage
	}
	staffMust(t, 200, c, tok["wang"], "GET", "/api/v1/audit?object=announcement:"+itoa(a.ID), nil, &audit)
	if len(audit) != 5 {
		t.Fatalf("audit %d entries: %+v", len(audit), audit)
	}
	wantState := map[string][2]string{"create": {"", "draft"}, "submit": {"draft", "submitted"},
		"approve": {"submitted", "approved"}, "schedule": {"approved", "scheduled"}, "done": {"scheduled", "done"}}
	for _, e := range audit {
		if got := [2]string{stateOf(t, e.Before), stateOf(t, e.After)}; got != wantState[e.Action] {
			t.Errorf("audit %s: before/after states %v, want %v", e.Action, got, wantState[e.Action])
		}
	}
	staffMust(t, 403, c, tok["li"], "GET", "/api/v1/audit", nil, nil)
}

// The author never reviews their own announcement, whatever their role; an editor never
// reviews at all.
func testAuthorCannotReviewOwn(t *testing.T, c *controller.Controller, tok map[string]string) {
	for _, author := range []string{"wang", "admin"} {
		a := createAnnouncement(t, c, tok[author], announcementBody("村务公开："+author))
		staffMust(t, 200, c, tok[author], "POST", annPath(a.ID, "submit"), nil, nil)
		var out map[string]any
		if code, _ := staffCall(t, c, tok[author], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 1}, &out); code != 403 ||
			!strings.Contains(out["error"].(string), "不能审核自己撰写的公告") {
			t.Fatalf("%s approving own: %d %v", author, code, out)
		}
		staffMust(t, 403, c, tok[author], "POST", annPath(a.ID, "reject"), map[string]any{"comment": "撤回"}, nil)
		staffMust(t, 403, c, tok["li"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 1}, nil)
		staffMust(t, 200, c, tok["zhao"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 1}, nil)
	}
}

// Approval names the revision it approves: an edit after submission makes it stale (409), as
// does an edit that started from an older revision.
func testEditedRevisionConflicts(t *testing.T, c *controller.Controller, tok map[string]string) {
	a := createAnnouncement(t, c, tok["li"], announcementBody("关于村道维修的公告"))
	staffMust(t, 200, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, nil)
	staffMust(t, 200, c, tok["li"], "PUT", annPath(a.ID, ""), map[string]any{"text": "村道维修期间请绕行。", "revision": 1}, &a)
	if a.State != "draft" || a.Revision != 2 || a.Text != "村道维修期间请绕行。" || a.Title != "关于村道维修的公告" {
		t.Fatalf("edited after submission: %+v", a)
	}
	staffMust(t, 409, c, tok["wang"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 1}, nil)
	staffMust(t, 200, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, nil)
	var out map[string]any
	if code, _ := staffCall(t, c, tok["wang"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 1}, &out); code != 409 ||
		!strings.Contains(out["error"].(string), "现为第 2 版") {
		t.Fatalf("approving revision 1 of revision 2: %d %v", code, out)
	}
	if code, _ := staffCall(t, c, tok["li"], "PUT", annPath(a.ID, ""), map[string]any{"title": "新标题", "revision": 1}, &out); code != 409 {
		t.Fatalf("edit from a stale revision: %d %v", code, out)
	}
	staffMust(t, 403, c, tok["zhao"], "PUT", annPath(a.ID, ""), map[string]any{"title": "别人的公告"}, nil)
	staffMust(t, 200, c, tok["wang"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 2, "comment": "同意"}, &a)
	if a.State != "approved" || a.Revision != 2 {
		t.Fatalf("approved: %+v", a)
	}
	// Approved, then edited: back to draft, the approval gone with the old revision.
	var edited apiAnnouncement // fresh: an absent reviewer must not keep the old one
	staffMust(t, 200, c, tok["admin"], "PUT", annPath(a.ID, ""), map[string]any{"title": "关于村道维修的公告（更正）"}, &edited)
	if edited.State != "draft" || edited.Revision != 3 || edited.Reviewer != "" || edited.Author != "li" {
		t.Fatalf("approved, then edited by the admin: %+v", edited)
	}
	if _, err := c.Review.Approved(context.Background(), a.ID); err == nil {
		t.Fatal("an edited announcement is still approved")
	}
}

// Rejection needs a comment; a rejected announcement is edited back to draft before it is
// submitted again.
func testRejectAndResubmit(t *testing.T, c *controller.Controller, tok map[string]string) {
	a := createAnnouncement(t, c, tok["li"], announcementBody("关于低保复核的公示"))
	staffMust(t, 200, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, nil)
	staffMust(t, 409, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, nil)
	var out map[string]any
	if code, _ := staffCall(t, c, tok["wang"], "POST", annPath(a.ID, "reject"), map[string]any{"comment": "  "}, &out); code != 400 || out["field"] != "comment" {
		t.Fatalf("reject without comment: %d %v", code, out)
	}
	staffMust(t, 200, c, tok["wang"], "POST", annPath(a.ID, "reject"), map[string]any{"comment": "请补充复核名单的公示期限"}, &a)
	if a.State != "rejected" || a.Comment != "请补充复核名单的公示期限" {
		t.Fatalf("rejected: %+v", a)
	}
	staffMust(t, 409, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, nil)
	staffMust(t, 409, c, tok["zhao"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 1}, nil)
	staffMust(t, 200, c, tok["li"], "PUT", annPath(a.ID, ""), map[string]any{"text": "低保复核名单公示七天，有异议请到村委会反映。"}, &a)
	if a.State != "draft" || a.Revision != 2 {
		t.Fatalf("rejected, then edited: %+v", a)
	}
	staffMust(t, 200, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, nil)
	staffMust(t, 200, c, tok["zhao"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 2}, &a)
	var list []apiAnnouncement
	staffMust(t, 200, c, tok["li"], "GET", "/api/v1/announcements?state=approved", nil, &list)
	found := false
	for _, x := range list {
		found = found || x.ID == a.ID
		if x.State != "approved" {
			t.Fatalf("?state=approved lists %+v", x)
		}
	}
	if !found {
		t.Fatalf("approved announcement %d not listed: %+v", a.ID, list)
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func stateOf(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	if len(raw) == 0 {
		return ""
	}
	var a struct{ State string }
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("audit snapshot %s: %v", raw, err)
	}
	return a.State
}
