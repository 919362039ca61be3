package controller_test

// Emergencies (应急广播): a pre-approved template sent by an editor, free text refused to an
// editor and spoken for a reviewer, each heard through real agents' ALSA output and each in the
// audit log; bad input refused field by field.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/receipts"
	"dalaba/proto/priority"
)

const (
	group201001 = "361126104201001" // 杨家坪: t001, t002
	floodText   = "各位村民请注意：曹溪河水位快速上涨，沿河住户请立即转移到村委会，不要靠近河道。"
	fireText    = "紧急通知：后山发生山火，请杨家坪村民关好门窗，听从村干部安排撤离。"
)

// emergencyTemplate drafts an emergency-domain announcement as the editor and has a reviewer
// approve it: a template anyone may send.
func emergencyTemplate(t *testing.T, c *controller.Controller, team map[string]string, key, domain, text string) apiAnnouncement {
	t.Helper()
	ann := createAnnouncement(t, c, team["li"], map[string]any{"key": key, "title": "山洪转移通知", "category": "服务公开",
		"domain": domain, "text": text, "targets": "village:" + village201, "voice": "mandarin-female",
		"valid_until": time.Now().Add(365 * 24 * time.Hour).Format(time.RFC3339)})
	staffMust(t, 200, c, team["li"], "POST", annPath(ann.ID, "submit"), nil, &ann)
	var ack []string
	for _, f := range ann.Flags {
		ack = append(ack, f.ID)
	}
	staffMust(t, 200, c, team["wang"], "POST", annPath(ann.ID, "approve"),
		map[string]any{"revision": ann.Revision, "comment": "应急模板，同意", "acknowledge": ack}, &ann)
	return ann
}

// auditOf is the audit log of one object, newest first.
func auditOf(t *testing.T, c *controller.Controller, adminToken, object string) []struct {
	Actor, Action string
	After         map[string]any
} {
	t.Helper()
	var out []struct {
		Actor, Action string
		After         map[string]any
	}
	staffMust(t, 200, c, adminToken, "GET", "/api/v1/audit?object="+object, nil, &out)
	return out
}

func TestEmergencyFromTemplateAndFreeTextHeardAndAudited(t *testing.T) {
	c, _ := startReview(t, func(o *controller.Options) { o.VoicesDir = "../tts-voices" })
	if c.TTS == nil {
		t.Fatal("text-to-speech did not start (espeak-ng and the voices in ../tts-voices are needed)")
	}
	agents := []*agentProc{startAgent(t, c, "", "t001", group201001), startAgent(t, c, "", "t002", group201001)}
	waitOnline(t, c, agents...)
	team := staffTeam(t, c)
	emergencyTemplate(t, c, team, "flood-warning", "应急管理", floodText)

	// The editor sends the pre-approved template, with ebctl.
	li := newStaffCLI(t, c)
	li.ok("li-password\n", []string{"已登录"}, "login", "--user", "li")
	out := li.ok("", []string{"应急广播已发送", "完成 2，失败 0"}, "emergency", "send", "--to", "group:"+group201001,
		"--severity", "2", "--template", "flood-warning", "--volume", "80", "--ends", "45m", "--interval", "2s", "--wait", "--timeout", "2m")
	m := regexp.MustCompile(`应急广播已发送：(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no broadcast id in:\n%s", out)
	}
	fromTemplate := m[1]
	sum, err := c.Book.Get(context.Background(), fromTemplate)
	if err != nil {
		t.Fatal(err)
	}
	wantLevel, _ := priority.Emergency(false, priority.Orange)
	if sum.Priority != int32(wantLevel) || sum.Severity != 2 || sum.ForcedVolume != 80 || sum.Repeat != 1 || sum.RepeatInterval != 2*time.Second ||
		sum.EndAt.Before(time.Now().Add(40*time.Minute)) || sum.EndAt.After(time.Now().Add(46*time.Minute)) {
		t.Fatalf("broadcast %+v: want this town's orange emergency level %d, volume forced to 80, one play, ending in 45 min", sum.Broadcast, wantLevel)
	}
	floodPCM, err := c.TTS.Speak(context.Background(), floodText, "mandarin-female")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Receipts {
		if r.State != receipts.Done || r.Played == nil || r.Played.Bytes != int64(len(floodPCM)) || r.Played.Peak < 0.1 {
			t.Fatalf("template emergency receipt %+v (proof %+v), want done with all %d bytes of the spoken template", r, r.Played, len(floodPCM))
		}
	}

	// Free text has had no review: not for an editor.
	code, raw := staffCall(t, c, team["li"], "POST", "/api/v1/emergencies", map[string]any{"title": "山火", "text": fireText,
		"severity": 1, "targets": "group:" + group201001}, nil)
	if code != 403 || !strings.Contains(string(raw), "审核人或管理员") {
		t.Fatalf("free text by an editor: %d %s, want 403 saying only reviewers or admins may", code, raw)
	}
	li.fails([]string{"审核人或管理员"}, "emergency", "send", "--to", "group:"+group201001, "--severity", "1", "--title", "山火", "--text", fireText)

	// A reviewer answers for it: spoken through TTS and played.
	var created struct{ ID string }
	staffMust(t, 201, c, team["wang"], "POST", "/api/v1/emergencies", map[string]any{"title": "山火", "text": fireText,
		"voice": "mandarin-female", "severity": 1, "targets": "group:" + group201001}, &created)
	if sum, err := c.Book.Get(context.Background(), created.ID); err != nil || sum.ForcedVolume != 100 || sum.EndAt.After(time.Now().Add(31*time.Minute)) {
		t.Fatalf("free-text emergency %+v %v: want the defaults, volume 100 and an end in 30 min", sum.Broadcast, err)
	}
	firePCM, err := c.TTS.Speak(context.Background(), fireText, "mandarin-female")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		r := awaitReceipt(t, c, created.ID, a.id, func(r receipts.Receipt) bool { return r.State.Final() })
		if r.State != receipts.Done || r.Played == nil || r.Played.Bytes != int64(len(firePCM)) {
			t.Fatalf("free-text emergency receipt %+v (proof %+v), want done with all %d bytes of speech", r, r.Played, len(firePCM))
		}
	}
	speech := float64(len(floodPCM)+len(firePCM)) / 32000
	for id, h := range heard(t, agents...) {
		if span := float64(h.LastLoud-h.FirstLoud) / 16000; span < speech*0.8 || h.Loud < 2*16000 || h.Peak < 0.1 {
			t.Errorf("agent %s heard %+v (span %.1f s), want both emergencies' %.1f s of speech", id, h, span, speech)
		}
	}

	// Both are in the audit log: who, what, how severe, where, from which template.
	admin := staffLogin(t, c, "admin", adminPassword)
	tmplAudit := auditOf(t, c, admin, "broadcast:"+fromTemplate)
	if len(tmplAudit) != 1 || tmplAudit[0].Actor != "li" || tmplAudit[0].Action != "emergency" {
		t.Fatalf("audit of the template emergency: %+v", tmplAudit)
	}
	a := tmplAudit[0].After
	if a["source"] != "template" || a["template_key"] != "flood-warning" || a["template_reviewer"] != "wang" || a["severity"] != 2.0 ||
		fmt.Sprint(a["targets"]) != "[group:"+group201001+"]" || a["broadcast_id"] != fromTemplate {
		t.Errorf("template emergency audit %v", a)
	}
	textAudit := auditOf(t, c, admin, "broadcast:"+created.ID)
	if len(textAudit) != 1 || textAudit[0].Actor != "wang" || textAudit[0].After["source"] != "text" ||
		textAudit[0].After["text"] != fireText || textAudit[0].After["severity"] != 1.0 {
		t.Errorf("free-text emergency audit %+v", textAudit)
	}
	denied := 0
	for _, e := range auditOf(t, c, admin, "user:li") {
		if e.Action == "emergency_denied" {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("%d refusals of li's free text in the audit log, want 2 (API and ebctl)", denied)
	}
}

func TestEmergencyBadInput(t *testing.T) {
	c, _ := startReview(t, func(o *controller.Options) { o.VoicesDir = "../tts-voices" })
	team := staffTeam(t, c)
	emergencyTemplate(t, c, team, "flood-warning", "应急管理", floodText)
	emergencyTemplate(t, c, team, "subsidy", "惠农补贴", "补贴发放通知。")
	createAnnouncement(t, c, team["li"], map[string]any{"key": "unreviewed", "title": "未审核模板", "category": "服务公开",
		"domain": "应急管理", "text": floodText, "targets": "village:" + village201})
	ok := func() map[string]any {
		return map[string]any{"title": "防汛", "text": floodText, "severity": 2, "targets": "village:" + village201}
	}
	with := func(k string, v any) map[string]any {
		b := ok()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	tmpl := func(ref any) map[string]any {
		return map[string]any{"template": ref, "severity": 2, "targets": "village:" + village201}
	}
	cases := []struct {
		name  string
		body  map[string]any
		code  int
		field string
	}{
		{"no severity", with("severity", nil), 400, "severity"},
		{"severity 0", with("severity", 0), 400, "severity"},
		{"severity 5", with("severity", 5), 400, "severity"},
		{"severity as words", with("severity", "red"), 400, "severity"},
		{"no targets", with("targets", nil), 400, "targets"},
		{"malformed target", with("targets", "county:3611"), 400, "targets"},
		{"unknown village", with("targets", "village:361126104299"), 400, "targets"},
		{"repeat 0", with("repeat", 0), 400, "repeat"},
		{"repeat 21", with("repeat", 21), 400, "repeat"},
		{"negative interval", with("interval_s", -1), 400, "interval_s"},
		{"interval over 10 min", with("interval_s", 601), 400, "interval_s"},
		{"volume 0", with("volume", 0), 400, "volume"},
		{"volume 101", with("volume", 101), 400, "volume"},
		{"end not a time", with("ends_at", "明天"), 400, "ends_at"},
		{"end passed", with("ends_at", time.Now().Add(-time.Minute).Format(time.RFC3339)), 400, "ends_at"},
		{"end beyond 24 h", with("ends_at", time.Now().Add(25*time.Hour).Format(time.RFC3339)), 400, "ends_at"},
		{"no content", with("text", nil), 400, "text"},
		{"text and template", with("template", "flood-warning"), 400, "text"},
		{"text too long", with("text", strings.Repeat("水", 2001)), 400, "text"},
		{"free text without title", with("title", nil), 400, "title"},
		{"unknown field", with("colour", "red"), 400, "body"},
		{"unknown template", tmpl("no-such-template"), 400, "template"},
		{"unknown template id", tmpl(99999), 400, "template"},
		{"template of another domain", tmpl("subsidy"), 400, "template"},
		{"template not approved", tmpl("unreviewed"), 409, ""},
	}
	han := regexp.MustCompile(`\p{Han}`)
	for _, k := range cases {
		var e struct{ Error, Field string }
		code, raw := staffCall(t, c, team["wang"], "POST", "/api/v1/emergencies", k.body, nil)
		json.Unmarshal(raw, &e)
		if code != k.code || e.Field != k.field || !han.MatchString(e.Error) {
			t.Errorf("%s: %d %s, want %d on field %q with a message in Chinese", k.name, code, raw, k.code, k.field)
		}
	}
	// As a form: bad numbers and an upload that is not a WAV.
	form := map[string]string{"title": "警报", "severity": "2", "targets": "village:" + village201}
	for field, bad := range map[string]string{"severity": "二级", "repeat": "x", "volume": "loud", "interval_s": "soon"} {
		f := map[string]string{}
		for k, v := range form {
			f[k] = v
		}
		f[field] = bad
		code, body := staffForm(t, c, team["wang"], "/api/v1/emergencies", f, toneWAV(t, 1000, 200*time.Millisecond))
		if code != 400 || body["field"] != field {
			t.Errorf("form %s=%q: %d %v, want 400 on %s", field, bad, code, body, field)
		}
	}
	code, body := staffForm(t, c, team["wang"], "/api/v1/emergencies", form, []byte("RIFF not really a wave file"))
	if code != 400 || body["field"] != "audio" {
		t.Errorf("not a WAV: %d %v, want 400 on audio", code, body)
	}
	if code, _ := staffCall(t, c, "", "POST", "/api/v1/emergencies", ok(), nil); code != 401 {
		t.Errorf("no login: %d, want 401", code)
	}
	// Nothing refused went out, or was audited as sent.
	var list []struct{ ID string }
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/broadcasts", nil, &list)
	if len(list) != 0 {
		t.Fatalf("%d broadcasts recorded from bad requests", len(list))
	}
	var audit []struct{ Action string }
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/audit?limit=1000", nil, &audit)
	for _, e := range audit {
		if strings.HasPrefix(e.Action, "emergency") {
			t.Fatalf("audit has %q after bad requests only", e.Action)
		}
	}
}
