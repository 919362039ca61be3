package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// announce: ebctl announce create|edit|submit|approve|reject|list|show. Announcements (公告)
// are drafted, submitted, and approved by someone other than the author before they go out.
func announce(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ebctl announce create|edit|submit|approve|reject|list|show (ebctl help)")
	}
	cmds := map[string]func([]string) error{"create": announceCreate, "edit": announceEdit, "submit": announceSubmit,
		"approve": announceApprove, "reject": announceReject, "publish": announcePublish, "list": announceList, "show": announceShow}
	f, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown announce command %q (want create, edit, submit, approve, reject, list or show)", args[0])
	}
	return f(args[1:])
}

// announcementFlags are the fields of an announcement as flags; only those given are sent
// (title, category, domain, text and voice by their own names).
func announcementFlags(fs *flag.FlagSet) func() (map[string]any, error) {
	fs.String("key", "", "stable key schedule files name it by, e.g. caoxi-morning-notice (optional)")
	fs.String("title", "", "title (标题)")
	fs.String("category", "", "one of the five disclosures: 决策公开 执行公开 管理公开 服务公开 结果公开 (or decision ...)")
	fs.String("domain", "", "disclosure domain: 财政资金 惠农补贴 村务 党务 应急管理 社会救助 土地征收 其他")
	fs.String("text", "", "text to be spoken (at most 2000 characters)")
	textFile := fs.String("text-file", "", "read the text from this UTF-8 file")
	fs.String("voice", "", "voice for text-to-speech (default: the controller's)")
	to := fs.String("to", "", "target addresses, comma-separated: town:, village:, group:, terminal:")
	from := fs.String("valid-from", "", "valid from: 2026-03-01, \"2026-03-01 08:00\", RFC 3339, or a duration from now such as 2h (default: now)")
	until := fs.String("valid-until", "", "valid until: same forms; a date means the end of that day (default: 7 days)")
	return func() (map[string]any, error) {
		body := map[string]any{}
		var err error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "key", "title", "category", "domain", "text", "voice":
				body[f.Name] = f.Value.String()
			case "to":
				body["targets"] = *to
			case "text-file":
				var b []byte
				if b, err = os.ReadFile(*textFile); err == nil && !utf8.Valid(b) {
					err = fmt.Errorf("%s 不是 UTF-8 编码的文本", *textFile)
				}
				body["text"] = strings.TrimSpace(string(b))
			case "valid-from":
				body["valid_from"], err = parseWhen(*from, false)
			case "valid-until":
				body["valid_until"], err = parseWhen(*until, true)
			}
		})
		return body, err
	}
}

func announceCreate(args []string) error {
	fs := flag.NewFlagSet("announce create", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	fields := announcementFlags(fs)
	fs.Parse(args)
	body, err := fields()
	if err != nil {
		return err
	}
	var a announcement
	if err := staffRequest(*server, "POST", "/api/v1/announcements", body, &a); err != nil {
		return err
	}
	fmt.Printf("公告已创建：编号 %d，第 %d 版，%s\n提交审核：ebctl announce submit %d\n", a.ID, a.Revision, a.StateName, a.ID)
	return nil
}

func announceEdit(args []string) error {
	id, rest, err := announcementArg("edit", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("announce edit", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	revision := fs.Int("revision", 0, "the revision you started from: refused if someone changed it since")
	fields := announcementFlags(fs)
	fs.Parse(rest)
	body, err := fields()
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errors.New("nothing to change: give --title, --text, --to, ...")
	}
	if *revision > 0 {
		body["revision"] = *revision
	}
	var a announcement
	if err := staffRequest(*server, "PUT", "/api/v1/announcements/"+id, body, &a); err != nil {
		return err
	}
	fmt.Printf("公告 %d 已修改：现为第 %d 版，%s（须重新提交审核）\n", a.ID, a.Revision, a.StateName)
	return nil
}

// announcementArg takes the announcement id that comes before the flags.
func announcementArg(cmd string, args []string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("usage: ebctl announce %s ID [flags]", cmd)
	}
	if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
		return "", nil, fmt.Errorf("公告编号应为数字，而不是 %q", args[0])
	}
	return args[0], args[1:], nil
}

// parseWhen reads a time as staff write it. A bare date is the start of that day, or with
// endOfDay the end of it.
func parseWhen(s string, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1).Add(-time.Second)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("时间格式错误：%q（应如 2026-03-01、\"2026-03-01 18:00\" 或 48h）", s)
}
