package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

type slotInfo struct {
	Due         string `json:"due"`
	State       string `json:"state"`
	What        string `json:"what"`
	BroadcastID string `json:"broadcast_id"`
	Reason      string `json:"reason"`
	Attempts    int    `json:"attempts"`
	FiredAt     string `json:"fired_at"`
	LateMs      int64  `json:"late_ms"`
}

// scheduleSlots: the slot log (播出记录), newest first.
func scheduleSlots(server, id, limit string) error {
	var slots []slotInfo
	if err := getJSON(server+"/api/v1/schedules/"+url.PathEscape(id)+"/slots?limit="+url.QueryEscape(limit), &slots); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "计划时间\t结果\t开始时间\t晚了\t广播编号\t说明")
	for _, s := range slots {
		late, fired := "—", "—"
		if s.FiredAt != "" {
			fired, late = localTime(s.FiredAt), (time.Duration(s.LateMs) * time.Millisecond).String()
		}
		note := s.Reason
		if s.Attempts > 1 {
			note = fmt.Sprintf("重启后重发 %d 次（同一广播编号） %s", s.Attempts-1, note)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", localTime(s.Due), s.What, fired, late, s.BroadcastID, note)
	}
	w.Flush()
	fmt.Printf("共 %d 条\n", len(slots))
	return nil
}

func schedulePause(server, id, op string) error {
	resp, err := http.Post(server+"/api/v1/schedules/"+url.PathEscape(id)+"/"+op, "application/json", nil)
	if err != nil {
		return err
	}
	var s scheduleInfo
	if err := decode(resp, &s); err != nil {
		return err
	}
	if s.Paused {
		fmt.Printf("日程 %s（%s）已暂停：到点的播出将记为跳过\n", s.ID, s.Name)
	} else {
		fmt.Printf("日程 %s（%s）已恢复，下次播出 %s\n", s.ID, s.Name, orDash(localTime(s.Next)))
	}
	return nil
}

func scheduleDelete(server, id string) error {
	req, err := http.NewRequest(http.MethodDelete, server+"/api/v1/schedules/"+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	if err := decode(resp, &struct{}{}); err != nil {
		return err
	}
	fmt.Printf("日程 %s 已删除（播出记录保留）\n", id)
	return nil
}

func scheduleReload(server string) error {
	resp, err := http.Post(server+"/api/v1/schedules/reload", "application/json", nil)
	if err != nil {
		return err
	}
	var r struct{ Files, Added, Changed, Removed, Unchanged []string }
	if err := decode(resp, &r); err != nil {
		return err
	}
	fmt.Printf("日程文件已重新加载（%d 个文件）：新增 %d，修改 %d，删除 %d，未变 %d\n",
		len(r.Files), len(r.Added), len(r.Changed), len(r.Removed), len(r.Unchanged))
	for _, l := range []struct {
		what string
		ids  []string
	}{{"新增", r.Added}, {"修改", r.Changed}, {"删除", r.Removed}} {
		for _, id := range l.ids {
			fmt.Printf("  %s %s\n", l.what, id)
		}
	}
	return nil
}

var weekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// scheduleWeek: every schedule's slots in the seven days from --from (default now).
func scheduleWeek(args []string) error {
	fs := flag.NewFlagSet("schedule week", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	from := fs.String("from", "", "first day, 2006-01-02 (default: now)")
	fs.Parse(args)
	var week struct {
		From, To, Timezone string
		Truncated          bool
		Slots              []struct {
			Name, Announcement, Due, What string
			To                            []string
			Paused                        bool
		}
	}
	if err := getJSON(*server+"/api/v1/schedules/week?from="+url.QueryEscape(*from), &week); err != nil {
		return err
	}
	fmt.Printf("%s 至 %s 的播出安排（时区 %s）\n", localTime(week.From), localTime(week.To), week.Timezone)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "日期\t时间\t日程\t公告\t目标\t状态")
	for _, s := range week.Slots {
		t, err := time.Parse(time.RFC3339Nano, s.Due)
		if err != nil {
			return fmt.Errorf("slot time %q: %w", s.Due, err)
		}
		state := s.What
		if state == "" {
			state = "待播"
			if s.Paused {
				state = "已暂停"
			}
		}
		to := "（按公告设定）"
		if len(s.To) > 0 {
			to = strings.Join(s.To, ",")
		}
		fmt.Fprintf(w, "%s %s\t%s\t%s\t%s\t%s\t%s\n", t.Format("01-02"), weekdays[t.Weekday()], t.Format("15:04"), s.Name, s.Announcement, to, state)
	}
	w.Flush()
	if week.Truncated {
		fmt.Println("（条目过多，只显示前 1000 条）")
	}
	return nil
}
