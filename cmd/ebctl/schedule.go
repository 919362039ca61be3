package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// scheduleInfo is a schedule as the controller answers it.
type scheduleInfo struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Announcement string   `json:"announcement"`
	To           []string `json:"to"`
	Cron         string   `json:"cron"`
	At           string   `json:"at"`
	TimeZone     string   `json:"timezone"`
	Grace        string   `json:"grace"`
	Paused       bool     `json:"paused"`
	Source       string   `json:"source"`
	File         string   `json:"file"`
	Created      string   `json:"created"`
	Next         string   `json:"next"`
}

// scheduleCmd: ebctl schedule list|week|show|create|pause|resume|delete|slots|reload
func scheduleCmd(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: ebctl schedule list|week|show ID|create|pause ID|resume ID|delete ID|slots ID|reload")
	}
	sub, rest := args[0], args[1:]
	withID := func(f func(server, id string, args []string) error) error {
		if len(rest) < 1 || rest[0] == "" || rest[0][0] == '-' {
			return fmt.Errorf("usage: ebctl schedule %s ID", sub)
		}
		fs := flag.NewFlagSet("schedule "+sub, flag.ExitOnError)
		server := fs.String("server", defaultServer(), "controller API base URL")
		limit := fs.String("limit", "50", "slots: how many, newest first (at most 1000)")
		fs.Parse(rest[1:])
		return f(*server, rest[0], []string{*limit})
	}
	switch sub {
	case "list":
		return scheduleList(serverFlag("schedule list", rest))
	case "week":
		return scheduleWeek(rest)
	case "create":
		return scheduleCreate(rest)
	case "reload":
		return scheduleReload(serverFlag("schedule reload", rest))
	case "show":
		return withID(func(server, id string, _ []string) error { return scheduleShow(server, id) })
	case "pause", "resume":
		return withID(func(server, id string, _ []string) error { return schedulePause(server, id, sub) })
	case "delete":
		return withID(func(server, id string, _ []string) error { return scheduleDelete(server, id) })
	case "slots":
		return withID(func(server, id string, a []string) error { return scheduleSlots(server, id, a[0]) })
	}
	return fmt.Errorf("unknown schedule command %q (list, week, show, create, pause, resume, delete, slots, reload)", sub)
}

func scheduleList(server string) error {
	var list []scheduleInfo
	if err := getJSON(server+"/api/v1/schedules", &list); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "编号\t名称\t公告\t时间\t目标\t状态\t来源\t下次播出")
	for _, s := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.Announcement, s.when(), s.targets(),
			s.state(), s.source(), orDash(localTime(s.Next)))
	}
	w.Flush()
	fmt.Printf("共 %d 个日程\n", len(list))
	return nil
}

func scheduleShow(server, id string) error {
	var s scheduleInfo
	if err := getJSON(server+"/api/v1/schedules/"+url.PathEscape(id), &s); err != nil {
		return err
	}
	s.print()
	return nil
}

// scheduleCreate: ebctl schedule create --name N --announcement KEY --cron EXPR|--at TIME ...
func scheduleCreate(args []string) error {
	fs := flag.NewFlagSet("schedule create", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	body := map[string]any{}
	id := fs.String("id", "", "schedule id (default: generated)")
	name := fs.String("name", "", "name shown to staff")
	ann := fs.String("announcement", "", "announcement id or key to play")
	cron := fs.String("cron", "", `recurring: 5-field cron, e.g. "30 7 * * *", or @daily`)
	at := fs.String("at", "", `one-off: "2006-01-02 15:04" in the time zone, or RFC 3339`)
	to := fs.String("to", "", "targets, comma-separated (default: the announcement's own)")
	grace := fs.String("grace", "", "how late a missed slot may still play (default 10m)")
	zone := fs.String("timezone", "", "time zone (default: the controller's, Asia/Shanghai)")
	paused := fs.Bool("paused", false, "create it paused")
	fs.Parse(args)
	for k, v := range map[string]string{"id": *id, "name": *name, "announcement": *ann, "cron": *cron, "at": *at, "to": *to, "grace": *grace, "timezone": *zone} {
		if v != "" {
			body[k] = v
		}
	}
	body["paused"] = *paused
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := http.Post(*server+"/api/v1/schedules", "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	var s scheduleInfo
	if err := decode(resp, &s); err != nil {
		return err
	}
	fmt.Printf("已创建日程 %s\n", s.ID)
	s.print()
	return nil
}

func (s scheduleInfo) print() {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "编号\t%s\n名称\t%s\n公告\t%s\n时间\t%s（时区 %s）\n目标\t%s\n", s.ID, s.Name, s.Announcement, s.when(), s.TimeZone, s.targets())
	fmt.Fprintf(w, "补播宽限\t%s\n状态\t%s\n来源\t%s\n下次播出\t%s\n", s.Grace, s.state(), s.source(), orDash(localTime(s.Next)))
	w.Flush()
}

func (s scheduleInfo) when() string {
	if s.Cron != "" {
		return "cron " + s.Cron
	}
	return "单次 " + localTime(s.At)
}

func (s scheduleInfo) targets() string {
	if len(s.To) == 0 {
		return "（按公告设定）"
	}
	return strings.Join(s.To, ",")
}

func (s scheduleInfo) state() string {
	if s.Paused {
		return "已暂停"
	}
	return "运行中"
}

func (s scheduleInfo) source() string {
	if s.Source == "file" {
		return "文件 " + s.File
	}
	return "接口创建"
}

// localTime shows an RFC 3339 time as the wall clock of its own zone.
func localTime(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return v
	}
	switch {
	case t.Nanosecond() != 0:
		return t.Format("2006-01-02 15:04:05.000")
	case t.Second() != 0:
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
