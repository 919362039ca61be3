package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

type flagged struct {
	ID           string `json:"id"`
	Label        string `json:"label"`
	Field        string `json:"field"`
	Masked       string `json:"masked"`
	Char         int    `json:"char"`
	Acknowledged bool   `json:"acknowledged"`
}

type announcement struct {
	ID            int64     `json:"id"`
	Title         string    `json:"title"`
	CategoryName  string    `json:"category_name"`
	DomainName    string    `json:"domain_name"`
	Text          string    `json:"text"`
	ProgramID     string    `json:"program_id"`
	Voice         string    `json:"voice"`
	Targets       string    `json:"targets"`
	Villages      []string  `json:"villages"`
	ValidFrom     time.Time `json:"valid_from"`
	ValidUntil    time.Time `json:"valid_until"`
	Author        string    `json:"author"`
	Revision      int       `json:"revision"`
	State         string    `json:"state"`
	StateName     string    `json:"state_name"`
	Flags         []flagged `json:"flags"`
	Reviewer      string    `json:"reviewer"`
	ReviewComment string    `json:"review_comment"`
	UpdatedAt     time.Time `json:"updated_at"`
	History       []struct {
		At     time.Time       `json:"at"`
		Actor  string          `json:"actor"`
		Action string          `json:"action"`
		After  json.RawMessage `json:"after"`
	} `json:"history"`
}

const minute = "2006-01-02 15:04"

// announceList: ebctl announce list [--state draft|submitted|approved|rejected|scheduled|done].
func announceList(args []string) error {
	fs := flag.NewFlagSet("announce list", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	state := fs.String("state", "", "only this state: draft, submitted, approved, rejected, scheduled, done")
	fs.Parse(args)
	path := "/api/v1/announcements"
	if *state != "" {
		path += "?state=" + url.QueryEscape(*state)
	}
	var list []announcement
	if err := staffRequest(*server, "GET", path, nil, &list); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "编号\t标题\t类别\t状态\t版本\t撰稿人\t更新时间")
	for _, a := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", a.ID, a.Title, a.CategoryName, a.StateName, a.Revision, a.Author, a.UpdatedAt.Local().Format(minute))
	}
	w.Flush()
	fmt.Printf("共 %d 条公告\n", len(list))
	return nil
}

// announceShow: ebctl announce show ID, with the secrecy flags and the history.
func announceShow(args []string) error {
	id, rest, err := announcementArg("show", args)
	if err != nil {
		return err
	}
	var a announcement
	if err := staffRequest(serverFlag("announce show", rest), "GET", "/api/v1/announcements/"+id, nil, &a); err != nil {
		return err
	}
	fmt.Printf("公告 %d《%s》第 %d 版  状态：%s\n", a.ID, a.Title, a.Revision, a.StateName)
	fmt.Printf("类别：%s  领域：%s  撰稿人：%s\n", a.CategoryName, a.DomainName, a.Author)
	fmt.Printf("目标：%s（%s）\n", a.Targets, strings.Join(a.Villages, "、"))
	fmt.Printf("有效期：%s 至 %s\n", a.ValidFrom.Local().Format(minute), a.ValidUntil.Local().Format(minute))
	if a.Voice != "" {
		fmt.Printf("播音声音：%s\n", a.Voice)
	}
	if a.ProgramID != "" {
		fmt.Printf("节目：%s\n", a.ProgramID)
	}
	fmt.Printf("正文：\n  %s\n", a.Text)
	if len(a.Flags) > 0 {
		fmt.Printf("保密审查提示 %d 条：\n", len(a.Flags))
		printFlags(a.Flags)
	}
	if a.Reviewer != "" {
		fmt.Printf("审核人：%s  意见：%s\n", a.Reviewer, a.ReviewComment)
	}
	fmt.Println("经过：")
	for _, h := range a.History {
		rev := ""
		var after struct{ Revision int }
		if json.Unmarshal(h.After, &after) == nil && after.Revision > 0 {
			rev = fmt.Sprintf("（第 %d 版）", after.Revision)
		}
		fmt.Printf("  %s  %s  %s%s\n", h.At.Local().Format("2006-01-02 15:04:05"), h.Actor, actionName(h.Action), rev)
	}
	return nil
}

func actionName(a string) string {
	names := map[string]string{"create": "创建", "edit": "修改", "submit": "提交审核", "approve": "审核通过",
		"reject": "驳回", "schedule": "排期", "broadcast": "播出", "done": "播出完成"}
	if n, ok := names[a]; ok {
		return n
	}
	return a
}
