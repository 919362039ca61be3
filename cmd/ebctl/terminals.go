package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"
)

type terminal struct {
	ID          string     `json:"id"`
	VillageName string     `json:"village_name"`
	GroupName   string     `json:"group_name"`
	GroupCode   string     `json:"group_code"`
	Online      bool       `json:"online"`
	LastSeen    *time.Time `json:"last_seen"`
	WorkState   string     `json:"work_state_name"`
	Volume      *int32     `json:"volume"`
	Faults      []struct {
		Name string `json:"name"`
	} `json:"faults"`
}

func terminals(args []string) error {
	fs := flag.NewFlagSet("terminals", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	fs.Parse(args)
	var ts []terminal
	if err := getJSON(*server+"/api/v1/terminals", &ts); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\t村\t组\t组编码\t状态\t工作状态\t音量\t故障\t最后在线")
	online := 0
	for _, t := range ts {
		state, seen := "离线", "-"
		if t.Online {
			state = "在线"
			online++
		}
		if t.LastSeen != nil {
			seen = t.LastSeen.Local().Format("2006-01-02 15:04:05")
		}
		volume, faults := "-", "-"
		if t.Volume != nil {
			volume = fmt.Sprintf("%d%%", *t.Volume)
		}
		for i, f := range t.Faults {
			if i == 0 {
				faults = f.Name
			} else {
				faults += "、" + f.Name
			}
		}
		work := t.WorkState
		if work == "" {
			work = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.VillageName, t.GroupName, t.GroupCode, state, work, volume, faults, seen)
	}
	w.Flush()
	fmt.Printf("共 %d 个终端，在线 %d 个\n", len(ts), online)
	return nil
}
