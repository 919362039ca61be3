package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
	"time"
)

type terminalEvent struct {
	Terminal string    `json:"terminal"`
	What     string    `json:"what"`
	Detail   string    `json:"detail"`
	At       time.Time `json:"at"`
}

// events: ebctl events [--terminal ID] [--limit N], newest first.
func events(args []string) error {
	fs := flag.NewFlagSet("events", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	terminal := fs.String("terminal", "", "only this terminal's events")
	limit := fs.Int("limit", 50, "how many events, newest first (at most 1000)")
	fs.Parse(args)
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *terminal != "" {
		q.Set("terminal", *terminal)
	}
	var evs []terminalEvent
	if err := getJSON(*server+"/api/v1/events?"+q.Encode(), &evs); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "时间\t终端\t事件\t详情")
	for _, ev := range evs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", ev.At.Local().Format("2006-01-02 15:04:05"), ev.Terminal, ev.What, ev.Detail)
	}
	w.Flush()
	fmt.Printf("共 %d 条事件\n", len(evs))
	return nil
}
