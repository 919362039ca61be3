package controller_test

// Accounts on a real controller: logout ends the session; a password change needs the old
// password, follows the rules and ends the other sessions; an admin's reset ends them all; a
// disabled user is out at once and cannot log in; a role or scope change holds from the next
// request; admins manage only users inside their scope; the last admin stays. Each is audited;
// ebctl does the same.

import (
	"encoding/json"
	"strings"
	"testing"

	"dalaba/controller"
)

// wantRefusal calls and wants the status and a message containing says.
func wantRefusal(t *testing.T, c *controller.Controller, token, method, path string, body any, code int, says string) {
	t.Helper()
	got, raw := staffCall(t, c, token, method, path, body, nil)
	var e struct{ Error string }
	json.Unmarshal(raw, &e)
	if got != code || !strings.Contains(e.Error, says) {
		t.Errorf("%s %s: %d %s, want %d saying %q", method, path, got, raw, code, says)
	}
}

func TestAccountsLogoutPasswordsDisableAndScopes(t *testing.T) {
	c, _ := startReview(t, nil)
	team := staffTeam(t, c) // admin, li (editor), wang and zhao (reviewers), all town scope
	admin := team["admin"]

	// Logout ends that session only.
	other := staffLogin(t, c, "li", "li-password")
	staffMust(t, 200, c, other, "POST", "/api/v1/logout", nil, nil)
	wantRefusal(t, c, other, "GET", "/api/v1/me", nil, 401, "登录已过期或无效")
	wantRefusal(t, c, other, "POST", "/api/v1/logout", nil, 401, "登录已过期或无效")
	var me struct {
		Name, Role, Scope string
		ScopeName         string `json:"scope_name"`
	}
	staffMust(t, 200, c, team["li"], "GET", "/api/v1/me", nil, &me)
	if me.Name != "li" || me.Role != "editor" || me.Scope != "town:"+caoxiTown || me.ScopeName != "曹溪镇" {
		t.Fatalf("me: %+v", me)
	}

	// Password change: the old one must be right, the new one must follow the rules.
	liA, liB := team["li"], staffLogin(t, c, "li", "li-password")
	change := func(old, new string) map[string]string {
		return map[string]string{"old_password": old, "new_password": new}
	}
	wantRefusal(t, c, liA, "POST", "/api/v1/me/password", change("not-my-password1", "li-better-2026"), 400, "原密码错误")
	for pw, says := range map[string]string{"short1": "至少 8 个字符", "abcdefghijk": "至少两类", "Password1": "过于常见", "li-password": "不能与原密码相同"} {
		wantRefusal(t, c, liA, "POST", "/api/v1/me/password", change("li-password", pw), 400, says)
	}
	staffMust(t, 200, c, liA, "POST", "/api/v1/me/password", change("li-password", "li-better-2026"), nil)
	staffMust(t, 200, c, liA, "GET", "/api/v1/me", nil, nil) // the session that changed it stays
	wantRefusal(t, c, liB, "GET", "/api/v1/me", nil, 401, "登录已过期或无效")
	if code, _, _ := loginAttempt(t, c, "li", "li-password"); code != 401 {
		t.Fatalf("old password after the change: %d, want 401", code)
	}
	liC := staffLogin(t, c, "li", "li-better-2026")

	// An admin's reset ends every session of the user.
	wantRefusal(t, c, team["wang"], "POST", "/api/v1/users/li/password", map[string]string{"password": "reset-by-wang1"}, 403, "需要管理员身份")
	wantRefusal(t, c, admin, "POST", "/api/v1/users/li/password", map[string]string{"password": "12345678"}, 400, "至少两类")
	wantRefusal(t, c, admin, "POST", "/api/v1/users/nobody/password", map[string]string{"password": "li-reset-2026"}, 404, "找不到该用户")
	staffMust(t, 200, c, admin, "POST", "/api/v1/users/li/password", map[string]string{"password": "li-reset-2026"}, nil)
	for _, tok := range []string{liA, liC} {
		wantRefusal(t, c, tok, "GET", "/api/v1/me", nil, 401, "登录已过期或无效")
	}
	li := staffLogin(t, c, "li", "li-reset-2026")

	// Role and scope changes hold from the next request.
	wantRefusal(t, c, li, "GET", "/api/v1/audit", nil, 403, "需要审核人或管理员身份")
	staffMust(t, 200, c, admin, "PATCH", "/api/v1/users/li", map[string]string{"role": "reviewer", "scope": "village:" + village201}, nil)
	staffMust(t, 200, c, li, "GET", "/api/v1/audit", nil, nil)
	var terms []struct {
		ID          string
		VillageCode string `json:"village_code"`
	}
	staffMust(t, 200, c, li, "GET", "/api/v1/terminals", nil, &terms)
	if len(terms) != 12 || terms[0].VillageCode != village201 {
		t.Fatalf("li with village scope sees %d terminals (%+v), want the 12 of 曹溪村", len(terms), terms)
	}
	wantRefusal(t, c, admin, "PATCH", "/api/v1/users/li", map[string]string{"role": "boss"}, 400, "角色须为")
	wantRefusal(t, c, admin, "PATCH", "/api/v1/users/li", map[string]string{"scope": "village:361126104299"}, 400, "不在终端清单中")
	wantRefusal(t, c, admin, "PATCH", "/api/v1/users/li", map[string]any{}, 400, "请至少指定一项修改")

	// Disabling ends the sessions at once; the right password then gets 403, a wrong one the
	// usual 401; enabling lets them back.
	wang := team["wang"]
	staffMust(t, 200, c, wang, "GET", "/api/v1/me", nil, nil)
	var disabled struct{ Disabled bool }
	staffMust(t, 200, c, admin, "PATCH", "/api/v1/users/wang", map[string]bool{"disabled": true}, &disabled)
	if !disabled.Disabled {
		t.Fatal("PATCH disabled answered a user still enabled")
	}
	wantRefusal(t, c, wang, "GET", "/api/v1/me", nil, 401, "登录已过期或无效")
	if code, _, msg := loginAttempt(t, c, "wang", "wang-password"); code != 403 || msg != "账号已停用，请联系管理员" {
		t.Fatalf("disabled wang logs in: %d %q, want 403", code, msg)
	}
	if code, _, msg := loginAttempt(t, c, "wang", "wrong-password1"); code != 401 || msg != "用户名或密码错误" {
		t.Fatalf("disabled wang, wrong password: %d %q, want the usual 401", code, msg)
	}
	var users []struct {
		Name     string
		Disabled bool
	}
	staffMust(t, 200, c, admin, "GET", "/api/v1/users", nil, &users)
	for _, u := range users {
		if u.Disabled != (u.Name == "wang") {
			t.Errorf("user list: %+v", u)
		}
	}
	staffMust(t, 200, c, admin, "PATCH", "/api/v1/users/wang", map[string]bool{"disabled": false}, nil)
	staffLogin(t, c, "wang", "wang-password")

	// The site keeps an admin.
	wantRefusal(t, c, admin, "PATCH", "/api/v1/users/admin", map[string]bool{"disabled": true}, 403, "不能停用自己的账号")
	wantRefusal(t, c, admin, "PATCH", "/api/v1/users/admin", map[string]string{"role": "reviewer"}, 409, "唯一可用的管理员")

	// A village admin manages only users of their village, and gives only scopes inside it.
	staffMust(t, 201, c, admin, "POST", "/api/v1/users", map[string]string{"name": "cunguan", "role": "admin",
		"password": "cunguan-password", "scope": "village:" + village201}, nil)
	cunguan := staffLogin(t, c, "cunguan", "cunguan-password")
	wantRefusal(t, c, cunguan, "POST", "/api/v1/users", map[string]string{"name": "big", "role": "admin", "password": "big-password1",
		"scope": "town:" + caoxiTown}, 403, "超出您的管理范围")
	wantRefusal(t, c, cunguan, "POST", "/api/v1/users", map[string]string{"name": "other", "role": "editor", "password": "other-password1",
		"scope": "village:" + village202}, 403, "超出您的管理范围")
	wantRefusal(t, c, cunguan, "PATCH", "/api/v1/users/zhao", map[string]bool{"disabled": true}, 403, "超出您的管理范围")
	wantRefusal(t, c, cunguan, "POST", "/api/v1/users/admin/password", map[string]string{"password": "taken-over-1"}, 403, "超出您的管理范围")
	wantRefusal(t, c, cunguan, "PATCH", "/api/v1/users/cunguan", map[string]string{"scope": "town:" + caoxiTown}, 403, "超出您的管理范围")
	staffMust(t, 201, c, cunguan, "POST", "/api/v1/users", map[string]string{"name": "zu1", "role": "editor", "password": "zu1-password",
		"scope": "group:361126104201001"}, nil)
	staffMust(t, 200, c, cunguan, "GET", "/api/v1/users", nil, &users)
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if strings.Join(names, ",") != "cunguan,li,zu1" {
		t.Fatalf("the village admin lists %v, want the users of 曹溪村 only (cunguan, li, zu1)", names)
	}

	// Each change is in the audit log, by whom, and the refusals too.
	var audit []struct{ Actor, Action, Object string }
	staffMust(t, 200, c, admin, "GET", "/api/v1/audit?limit=1000", nil, &audit)
	seen := map[string]int{}
	for _, e := range audit {
		seen[e.Actor+" "+e.Action+" "+e.Object]++
	}
	for _, want := range []string{"li logout user:li", "li password_change user:li", "admin password_reset user:li",
		"admin user_update user:li", "admin user_disable user:wang", "admin user_enable user:wang", "wang login_refused user:wang",
		"cunguan user_create user:zu1", "cunguan denied route:PATCH /api/v1/users/{name}", "cunguan denied route:POST /api/v1/users",
		"wang denied route:POST /api/v1/users/{name}/password", "anonymous denied route:GET /api/v1/me"} {
		if seen[want] == 0 {
			t.Errorf("no audit entry %q", want)
		}
	}
	for k := range seen {
		if strings.Contains(k, "password") && strings.Contains(k, "li-reset-2026") {
			t.Errorf("a password in the audit log: %s", k)
		}
	}
}

// ebctl: login, whoami, passwd, users set / disable / enable / reset-password, logout.
func TestEbctlAccounts(t *testing.T) {
	c, _ := startReview(t, nil)
	admin := newStaffCLI(t, c)
	admin.ok(adminPassword+"\n", []string{"已登录"}, "login", "--user", "admin")
	admin.ok("", []string{"admin（管理员）", "管理员/admin", "曹溪镇（town:361126104）"}, "whoami")
	admin.ok("", []string{"已添加用户：li"}, "users", "add", "--name", "li", "--role", "editor", "--password", "li-password")

	li := newStaffCLI(t, c)
	li.fails([]string{"尚未登录"}, "whoami")
	li.ok("li-password\n", []string{"已登录"}, "login", "--user", "li")
	li.fails([]string{"原密码错误"}, "passwd", "--old", "nope-nope-1", "--new", "li-better-2026")
	li.ok("li-password\nli-better-2026\n", []string{"密码已修改"}, "passwd")
	li.ok("", []string{"li（li）", "撰稿人/editor"}, "whoami")

	admin.ok("", []string{"已修改用户：li", "审核人/reviewer", "曹溪村（village:361126104201）"}, "users", "set", "li", "--role", "reviewer",
		"--scope", "village:"+village201)
	li.ok("", []string{"审核人/reviewer"}, "whoami")
	admin.ok("", []string{"已停用用户：li"}, "users", "disable", "li")
	li.fails([]string{"登录已过期或无效", "请先登录：ebctl login"}, "whoami")
	admin.ok("", []string{"li", "已停用"}, "users", "list")
	admin.ok("", []string{"已启用用户：li"}, "users", "enable", "li")
	admin.ok("li-reset-2026\n", []string{"已重置用户 li 的密码"}, "users", "reset-password", "li")
	li.fails([]string{"用户名或密码错误"}, "login", "--user", "li", "--password", "li-better-2026")
	li.ok("li-reset-2026\n", []string{"已登录"}, "login", "--user", "li")
	li.ok("", []string{"已退出登录：li"}, "logout")
	li.fails([]string{"尚未登录"}, "whoami")
	// Commands that were open before need the session too.
	li.fails([]string{"请先登录"}, "terminals")
}
