package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// upperAnswer is GET /api/v1/upper-messages.
type upperAnswer struct {
	Cascade  bool `json:"cascade"`
	Messages []struct {
		ID          string    `json:"id"`
		Issuer      string    `json:"issuer"`
		Title       string    `json:"title"`
		Severity    int       `json:"severity"`
		Drill       bool      `json:"drill"`
		BroadcastID string    `json:"broadcast_id"`
		Received    time.Time `json:"received"`
		StateText   string    `json:"state_text"`
		Coverage    []struct {
			Area   string `json:"area"`
			Total  int    `json:"total"`
			Played int    `json:"played"`
			Rate   string `json:"rate"`
		} `json:"coverage"`
	} `json:"messages"`
	Below []struct {
		Name           string     `json:"name"`
		LastHeartbeat  *time.Time `json:"last_heartbeat"`
		Silent         bool       `json:"silent"`
		TerminalsOn    int        `json:"terminals_on"`
		TerminalsTotal int        `json:"terminals_total"`
	} `json:"below"`
}

var severityNames = map[int]string{1: "红色", 2: "橙色", 3: "黄色", 4: "蓝色"}

// upper: ebctl upper [--limit N], the emergency messages platforms above sent down (上级消息),
// newest first, and the platforms below.
func upper(args []string) error {
	fs := flag.NewFlagSet("upper", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	limit := fs.Int("limit", 50, "how many messages, newest first (at most 200)")
	fs.Parse(args)
	var a upperAnswer
	if err := getJSON(*server+"/api/v1/upper-messages?"+url.Values{"limit": {strconv.Itoa(*limit)}}.Encode(), &a); err != nil {
		return err
	}
	if !a.Cascade {
		fmt.Println("本平台未接入上级应急广播平台，没有上级消息。")
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "收到时间\t发布方\t级别\t标题\t状态\t覆盖\t本镇广播")
	for _, m := range a.Messages {
		level := severityNames[m.Severity]
		if m.Drill {
			level += "（演练）"
		}
		var cov []string
		for _, c := range m.Coverage {
			cov = append(cov, fmt.Sprintf("%s %d/%d（%s%%）", c.Area, c.Played, c.Total, c.Rate))
		}
		bid := m.BroadcastID
		if bid == "" {
			bid = "未播出"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Received.Local().Format("2006-01-02 15:04:05"), m.Issuer, level, m.Title,
			m.StateText, strings.Join(cov, "；"), bid)
	}
	w.Flush()
	fmt.Printf("共 %d 条上级消息\n", len(a.Messages))
	if len(a.Below) > 0 {
		w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "\n下级平台\t最近心跳\t终端在线/总数")
		for _, p := range a.Below {
			hb := "从未"
			if p.LastHeartbeat != nil {
				hb = p.LastHeartbeat.Local().Format("2006-01-02 15:04:05")
			}
			if p.Silent {
				hb += "（失联）"
			}
			fmt.Fprintf(w, "%s\t%s\t%d/%d\n", p.Name, hb, p.TerminalsOn, p.TerminalsTotal)
		}
		w.Flush()
	}
	return nil
}
