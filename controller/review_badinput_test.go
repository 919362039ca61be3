package controller_test

import (
	"strings"
	"testing"
	"time"
)

// Bad announcements are refused with 400, the field, and a Chinese message; nothing is stored.
func TestAnnouncementBadInput(t *testing.T) {
	c, _ := startReview(t, nil)
	token := staffLogin(t, c, "admin", adminPassword)
	with := func(k string, v any) map[string]any {
		b := announcementBody("通知")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	past := time.Now().Add(-time.Hour)
	cases := []struct {
		name  string
		body  any
		field string
		says  string
	}{
		{"no title", with("title", nil), "title", "请填写公告标题"},
		{"blank title", with("title", "   "), "title", "请填写公告标题"},
		{"title too long", with("title", strings.Repeat("长", 101)), "title", "公告标题不能超过 100 个字"},
		{"no text", with("text", nil), "text", "请填写公告正文"},
		{"empty text", with("text", ""), "text", "请填写公告正文"},
		{"text of 2001 characters", with("text", strings.Repeat("字", 2001)), "text", "公告正文不能超过 2000 个字（现有 2001 个字）"},
		{"text and a program", with("program_id", "abc"), "text", "只能选一个"},
		{"unknown category", with("category", "宣传公开"), "category", "公开类别须为"},
		{"no category", with("category", nil), "category", "请选择公开类别"},
		{"unknown domain", with("domain", "体育"), "domain", "公开领域不在公开目录中：体育"},
		{"unknown village", with("targets", "village:361126104299"), "targets", "目标地址不存在：village:361126104299"},
		{"unknown terminal among good ones", with("targets", "village:"+village201+",terminal:t999"), "targets", "目标地址不存在：terminal:t999"},
		{"malformed target", with("targets", "villa:1"), "targets", "目标地址格式错误"},
		{"no targets", with("targets", nil), "targets", "请选择广播目标"},
		{"validity passed", with("valid_until", past), "valid_until", "有效期截止时间已过"},
		{"validity ends before it starts", with("valid_from", time.Now().Add(48*time.Hour)), "valid_until", "须晚于开始时间"},
		{"bad time", with("valid_until", "next tuesday"), "time", "时间格式错误"},
		{"unknown field", with("colour", "red"), "body", "请求格式错误"},
		{"wrong type", with("title", 42), "title", "类型错误"},
	}
	cases[15].body.(map[string]any)["valid_until"] = time.Now().Add(24 * time.Hour)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			code, raw := staffCall(t, c, token, "POST", "/api/v1/announcements", tc.body, &out)
			if code != 400 || out["field"] != tc.field || !strings.Contains(out["error"].(string), tc.says) {
				t.Fatalf("status %d %s, want 400 field %s saying %q", code, raw, tc.field, tc.says)
			}
		})
	}
	ok := createAnnouncement(t, c, token, with("text", strings.Repeat("字", 2000)))
	staffMust(t, 400, c, token, "PUT", annPath(ok.ID, ""), map[string]any{"domain": "体育"}, nil)
	staffMust(t, 400, c, token, "PUT", annPath(ok.ID, ""), map[string]any{"targets": "group:361126104201999"}, nil)
	staffMust(t, 404, c, token, "PUT", annPath(ok.ID+1, ""), map[string]any{"title": "x"}, nil)
	staffMust(t, 404, c, token, "GET", "/api/v1/announcements/abc", nil, nil)
	staffMust(t, 404, c, token, "POST", annPath(ok.ID+1, "submit"), nil, nil)
	staffMust(t, 400, c, token, "GET", "/api/v1/announcements?state=published", nil, nil)

	var list []apiAnnouncement
	staffMust(t, 200, c, token, "GET", "/api/v1/announcements", nil, &list)
	if len(list) != 1 || list[0].Revision != 1 {
		t.Fatalf("after only bad requests and bad edits: %+v", list)
	}
}
