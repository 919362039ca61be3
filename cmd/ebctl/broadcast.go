package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"
)

type report struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	State    string         `json:"state"`
	Counts   map[string]int `json:"counts"`
	Villages []struct {
		Code     string         `json:"code"`
		Name     string         `json:"name"`
		Total    int            `json:"total"`
		Counts   map[string]int `json:"counts"`
		Coverage float64        `json:"coverage"`
	} `json:"villages"`
	NotPlayed []struct {
		Terminal string `json:"terminal"`
		State    string `json:"state"`
		Reason   string `json:"reason"`
		Why      string `json:"why"`
	} `json:"not_played"`
}

func broadcast(args []string) error {
	fs := flag.NewFlagSet("broadcast", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	to := fs.String("to", "", "target addresses, comma-separated (required)")
	audioPath := fs.String("audio", "", "WAV file to broadcast (required)")
	title := fs.String("title", "", "title (default: the file name)")
	validFor := fs.String("valid-for", "", "how long terminals may still start it, e.g. 10m")
	wait := fs.Bool("wait", false, "wait until every target has finished and print the report")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long --wait waits")
	fs.Parse(args)
	if *to == "" || *audioPath == "" {
		return errors.New("--to and --audio are required")
	}
	if *title == "" {
		*title = filepath.Base(*audioPath)
	}
	id, err := send(*server, *to, *audioPath, *title, *validFor)
	if err != nil {
		return err
	}
	fmt.Printf("广播已发送：%s\n", id)
	if !*wait {
		return nil
	}
	rep, err := awaitFinished(*server, id, *timeout)
	if err != nil {
		return err
	}
	printReport(rep)
	if rep.Counts["failed"] > 0 {
		return fmt.Errorf("%d 个在线终端未能播放", rep.Counts["failed"])
	}
	if rep.State != "finished" {
		return fmt.Errorf("等待超时：广播尚未完成（%s）", rep.State)
	}
	return nil
}

func send(server, to, audioPath, title, validFor string) (string, error) {
	var created struct{ ID string }
	fields := map[string]string{"title": title, "targets": to, "valid_for": validFor}
	if err := staffForm(server, "/api/v1/broadcasts", fields, audioPath, &created); err != nil {
		return "", err
	}
	return created.ID, nil
}

// awaitFinished waits until every target has finished the broadcast, or timeout.
func awaitFinished(server, id string, timeout time.Duration) (report, error) {
	return awaitBroadcast(server, id, timeout, func(r report) bool { return r.State == "finished" })
}

// awaitBroadcast long-polls the broadcast's report until done says so or timeout passes.
func awaitBroadcast(server, id string, timeout time.Duration, done func(report) bool) (report, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := min(time.Until(deadline), 30*time.Second).Round(time.Second)
		url := fmt.Sprintf("%s/api/v1/broadcasts/%s?wait=finished&timeout=%s", server, id, max(left, time.Second))
		var rep report
		if err := getJSON(url, &rep); err != nil {
			return report{}, err
		}
		if done(rep) || time.Now().After(deadline) {
			return rep, nil
		}
	}
}

func printReport(r report) {
	fmt.Printf("广播 %s《%s》状态：%s\n", r.ID, r.Title, r.State)
	fmt.Printf("完成 %d，失败 %d，离线 %d，未完成 %d\n", r.Counts["done"], r.Counts["failed"], r.Counts["offline"],
		r.Counts["pending"]+r.Counts["received"]+r.Counts["fetched"]+r.Counts["playing"])
	for _, v := range r.Villages {
		fmt.Printf("  %s（%s）：%d/%d 已播放，覆盖率 %.0f%%\n", v.Name, v.Code, v.Counts["done"], v.Total, v.Coverage)
	}
	if len(r.NotPlayed) > 0 {
		fmt.Println("未播放的终端：")
		for _, n := range r.NotPlayed {
			fmt.Printf("  %s：%s\n", n.Terminal, n.Why)
		}
	}
}
