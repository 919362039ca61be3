package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// emergency: ebctl emergency send --to ADDR --severity N (--text T | --template KEY | --audio F)
// [--title T] [--voice V] [--repeat N] [--interval 3s] [--ends 30m|RFC3339] [--volume 100]
// [--wait]. Logged-in staff only; the targets must be inside the account's scope.
func emergencyCmd(args []string) error {
	if len(args) == 0 || args[0] != "send" {
		return errors.New("usage: ebctl emergency send --to ADDR --severity 1-4 (--text T | --template KEY | --audio F.wav) [...]")
	}
	fs := flag.NewFlagSet("emergency send", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	to := fs.String("to", "", "target addresses, comma-separated (required)")
	severity := fs.Int("severity", 0, "1 特别重大/red, 2 重大/orange, 3 较大/yellow, 4 一般/blue (required)")
	text := fs.String("text", "", "text to speak (reviewers and admins only)")
	template := fs.String("template", "", "an approved emergency template: announcement key or id")
	audioPath := fs.String("audio", "", "WAV file to play (reviewers and admins only)")
	title := fs.String("title", "", "title (default: the template's title; required with --text or --audio)")
	voice := fs.String("voice", "", "voice for --text")
	repeat := fs.Int("repeat", 0, "plays in all (default 1)")
	interval := fs.String("interval", "", "silence between plays, e.g. 5s (default 3s)")
	ends := fs.String("ends", "", "when it stops even mid-play: a duration from now (45m) or a time (2026-07-01T18:00:00+08:00); default 30m")
	volume := fs.Int("volume", 0, "volume forced on every terminal, 1-100 (default 100)")
	wait := fs.Bool("wait", false, "wait until every target has finished and print the report")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long --wait waits")
	fs.Parse(args[1:])
	if *to == "" || *severity == 0 {
		return errors.New("--to and --severity are required")
	}
	fields := map[string]string{"targets": *to, "severity": strconv.Itoa(*severity), "title": *title,
		"text": *text, "template": *template, "voice": *voice}
	if *repeat != 0 {
		fields["repeat"] = strconv.Itoa(*repeat)
	}
	if *interval != "" {
		d, err := time.ParseDuration(*interval)
		if err != nil {
			return fmt.Errorf("--interval %q: want a duration such as 5s", *interval)
		}
		fields["interval_s"] = strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	}
	if *volume != 0 {
		fields["volume"] = strconv.Itoa(*volume)
	}
	if *ends != "" {
		end, err := parseEnds(*ends, time.Now())
		if err != nil {
			return err
		}
		fields["ends_at"] = end
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := staffForm(*server, "/api/v1/emergencies", fields, *audioPath, &created); err != nil {
		return err
	}
	fmt.Printf("应急广播已发送：%s\n", created.ID)
	if !*wait {
		return nil
	}
	rep, err := awaitEnded(*server, created.ID, *timeout)
	if err != nil {
		return err
	}
	printReport(rep)
	switch {
	case rep.Counts["failed"] > 0:
		return fmt.Errorf("%d 个在线终端未能播放", rep.Counts["failed"])
	case rep.State == "cancelled":
		return errors.New("应急广播已被取消")
	case rep.State != "finished":
		return fmt.Errorf("等待超时：应急广播尚未完成（%s）", rep.State)
	}
	return nil
}

// parseEnds reads --ends: a duration from now, or an RFC 3339 time.
func parseEnds(s string, now time.Time) (string, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d).Format(time.RFC3339), nil
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return "", fmt.Errorf("--ends %q: want a duration such as 45m or a time such as 2026-07-01T18:00:00+08:00", s)
	}
	return s, nil
}

// awaitEnded waits until the broadcast has finished, or was cancelled and every terminal has
// answered.
func awaitEnded(server, id string, timeout time.Duration) (report, error) {
	return awaitBroadcast(server, id, timeout, func(r report) bool {
		open := r.Counts["pending"] + r.Counts["received"] + r.Counts["fetched"] + r.Counts["playing"] + r.Counts["preempted"]
		return r.State == "finished" || (r.State == "cancelled" && open == 0)
	})
}

// staffForm posts fields (empty ones left out) and, when audioPath is set, the file as "audio",
// as a multipart form with the saved token.
func staffForm(server, path string, fields map[string]string, audioPath string, out any) error {
	token, err := loadToken()
	if err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if v != "" {
			mw.WriteField(k, v)
		}
	}
	if audioPath != "" {
		f, err := os.Open(audioPath)
		if err != nil {
			return err
		}
		defer f.Close()
		part, err := mw.CreateFormFile("audio", filepath.Base(audioPath))
		if err != nil {
			return err
		}
		if _, err := io.Copy(part, f); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequest("POST", server+path, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return decode(resp, out)
}

// cancel: ebctl cancel BROADCAST_ID [--reason R] stops a broadcast everywhere at once.
func cancelCmd(args []string) error {
	fs := flag.NewFlagSet("cancel", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	reason := fs.String("reason", "", "why, shown in the receipts (default: who cancelled)")
	id, rest := "", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		id, rest = args[0], args[1:]
	}
	fs.Parse(rest)
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if id == "" {
		return errors.New("usage: ebctl cancel BROADCAST_ID [--reason R]")
	}
	var out struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
	}
	if err := staffRequest(*server, "POST", "/api/v1/broadcasts/"+id+"/cancel", map[string]string{"reason": *reason}, &out); err != nil {
		return err
	}
	fmt.Printf("广播已取消：%s（%s）\n", out.ID, out.Reason)
	return nil
}
