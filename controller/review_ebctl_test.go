package controller_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"dalaba/controller"
)

// staffCLI runs ebctl as one member of staff: their own config directory (for the token),
// stdin for passwords.
type staffCLI struct {
	t      *testing.T
	c      *controller.Controller
	config string
}

func newStaffCLI(t *testing.T, c *controller.Controller) *staffCLI {
	return &staffCLI{t: t, c: c, config: t.TempDir()}
}

func (s *staffCLI) run(stdin string, args ...string) (string, int) {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "ebctl"), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DALABA_TOKEN=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DALABA_SERVER=http://"+s.c.HTTPAddr, "XDG_CONFIG_HOME="+s.config)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("ebctl: %v", err)
	}
	return string(out), 0
}

// ok runs ebctl, wants success and every one of says in its output.
func (s *staffCLI) ok(stdin string, says []string, args ...string) string {
	s.t.Helper()
	out, code := s.run(stdin, args...)
	if code != 0 {
		s.t.Fatalf("ebctl %s: exit %d:\n%s", strings.Join(args, " "), code, out)
	}
	s.expect(out, says)
	return out
}

// fails runs ebctl, wants it to fail saying every one of says.
func (s *staffCLI) fails(says []string, args ...string) {
	s.t.Helper()
	out, code := s.run("", args...)
	if code == 0 {
		s.t.Fatalf("ebctl %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	s.expect(out, says)
}

func (s *staffCLI) expect(out string, says []string) {
	s.t.Helper()
	for _, w := range says {
		if !strings.Contains(out, w) {
			s.t.Fatalf("output does not say %q:\n%s", w, out)
		}
	}
}

// Staff drive the whole review with ebctl: the admin adds users, the editor drafts from a file
// and submits, the reviewer acknowledges the flags and approves, or rejects with a comment.
func TestEbctlAnnouncementReview(t *testing.T) {
	c, _ := startReview(t, nil)
	admin, li, wang := newStaffCLI(t, c), newStaffCLI(t, c), newStaffCLI(t, c)

	admin.ok(adminPassword+"\n", []string{"已登录：管理员（管理员/admin）"}, "login", "--user", "admin")
	fi, err := os.Stat(filepath.Join(admin.config, "dalaba", "token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v", err, fi.Mode())
	}
	admin.ok("", []string{"已添加用户：li（李文书）"}, "users", "add", "--name", "li", "--display-name", "李文书", "--role", "editor", "--password", "li-password")
	admin.ok("wang-password\n", []string{"审核人/reviewer"}, "users", "add", "--name", "wang", "--display-name", "王书记", "--role", "reviewer")
	admin.ok("", []string{"李文书", "王书记", "共 3 个用户"}, "users", "list")

	li.ok("", []string{"已登录：李文书"}, "login", "--user", "li", "--password", "li-password")
	wang.ok("wang-password\n", []string{"已登录：王书记"}, "login", "--user", "wang")
	text := writeFile(t, "notice.txt", []byte("各位村民：补贴已发放，疑问请打13812345678。\n"))
	li.ok("", []string{"公告已创建：编号 1，第 1 版，草稿"}, "announce", "create", "--title", "补贴发放通知", "--category", "决策公开",
		"--domain", "惠农补贴", "--text-file", text, "--to", "village:"+village201, "--voice", "xiaoyan", "--valid-until", "2099-12-31")
	li.ok("", []string{"已提交审核", "保密审查提示 1 条", "F1", "手机号码", "138****5678", "正文第 16 字"}, "announce", "submit", "1")

	li.fails([]string{"需要审核人或管理员身份"}, "announce", "approve", "1", "--revision", "1", "--ack", "all")
	wang.fails([]string{"尚未确认", "F1"}, "announce", "approve", "1", "--revision", "1")
	wang.ok("", []string{"公告 1 第 1 版已审核通过（审核人 wang）"}, "announce", "approve", "1", "--revision", "1", "--ack", "all", "--comment", "同意")
	li.ok("", []string{"已通过", "曹溪村", "2099-12-31 23:59", "F1", "（已确认）", "审核人：wang  意见：同意", "审核通过（第 1 版）"}, "announce", "show", "1")
	li.ok("", []string{"补贴发放通知", "共 1 条公告"}, "announce", "list", "--state", "approved")

	li.ok("", []string{"编号 2"}, "announce", "create", "--title", "停水通知", "--category", "service", "--domain", "村务",
		"--text", "明天停水。", "--to", "village:"+village202)
	li.ok("", []string{"未发现"}, "announce", "submit", "2")
	wang.fails([]string{"驳回时须填写意见"}, "announce", "reject", "2")
	wang.ok("", []string{"公告 2 第 1 版已驳回：请写明停水时段"}, "announce", "reject", "2", "--comment", "请写明停水时段")
	li.ok("", []string{"现为第 2 版，草稿"}, "announce", "edit", "2", "--text", "明天上午八点到十二点停水。", "--revision", "1")
	li.fails([]string{"目标地址不存在：village:361126104299"}, "announce", "edit", "2", "--to", "village:361126104299")

	newStaffCLI(t, c).fails([]string{"尚未登录"}, "announce", "list")
	li.fails([]string{"用户名或密码错误"}, "login", "--user", "li", "--password", "wrong-password")
}
