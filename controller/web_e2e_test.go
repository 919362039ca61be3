package controller_test

// The staff console end to end in a real browser: headless Chromium driven by playwright-core
// (controller/web/e2e/console.mjs) against a controller with the 12 terminals of one village
// running as in-process agents. The script signs in, composes, has a second user approve and
// publish, watches the report reach 100% of the village, sends an emergency through its
// confirmation, shouts from a fake microphone and checks a phone-sized screen; this test then
// checks the outcome again through the API. DALABA_SCREENSHOTS=<dir> (make screenshots) saves
// a screenshot of each page there.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"dalaba/controller"
)

const e2eDir = "web/e2e"

func TestWebConsoleEndToEnd(t *testing.T) {
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in controller/%s: run .ci/deps (npm ci there): %v", e2eDir, err)
	}
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("headless Chromium is needed at %s (Debian package chromium; .ci/deps installs it): %v", chromium, err)
	}
	c, _ := startReview(t, func(o *controller.Options) { o.VoicesDir = "../tts-voices" })
	if c.TTS == nil {
		t.Fatal("text-to-speech did not start (espeak-ng and the voices in ../tts-voices are needed)")
	}
	team := staffTeam(t, c)
	var village []string
	group := ""
	for _, term := range c.Inventory().Terminals() {
		if term.VillageCode == village201 {
			village = append(village, term.ID)
			startSimAgent(t, c, term.ID, term.GroupCode, 0)
			if group == "" {
				group = term.GroupCode
			}
		}
	}
	groupSize := 0
	for _, term := range c.Inventory().Terminals() {
		if term.GroupCode == group {
			groupSize++
		}
	}

	shots := os.Getenv("DALABA_SCREENSHOTS")
	if shots != "" && !filepath.IsAbs(shots) {
		abs, err := filepath.Abs(filepath.Join("..", shots)) // relative to the repository, as make passes it
		if err != nil {
			t.Fatal(err)
		}
		shots = abs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "console.mjs")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "CONSOLE_URL=http://"+c.HTTPAddr, "CHROMIUM="+chromium,
		"EDITOR_NAME=li", "EDITOR_PASSWORD=li-password", "REVIEWER_TOKEN="+team["wang"], "ADMIN_TOKEN="+team["admin"],
		"VILLAGE="+village201, "GROUP="+group,
		"MIC_WAV="+writeFile(t, "mic.wav", toneWAV(t, 440, 4*time.Second)), "SCREENSHOTS="+shots)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("browser run took %.1f s:\n%s", time.Since(start).Seconds(), stderr.String())
	if err != nil {
		t.Fatalf("console.mjs: %v\n%s", err, stdout.String())
	}
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	var out struct{ Announcement, Recording, Broadcast, Emergency, Shout string }
	if err := json.Unmarshal(lines[len(lines)-1], &out); err != nil {
		t.Fatalf("console.mjs summary: %v: %s", err, stdout.String())
	}

	// What the browser showed, checked again at the source.
	rep := awaitFinishedReport(t, c.HTTPAddr, out.Broadcast)
	if rep.Counts["done"] != len(village) || len(rep.Receipts) != len(village) {
		t.Errorf("announcement broadcast %s: counts %v over %d receipts, want all %d terminals of the village done",
			out.Broadcast, rep.Counts, len(rep.Receipts), len(village))
	}
	for _, r := range rep.Receipts {
		if r.Played == nil || r.Played.Peak < 0.1 {
			t.Errorf("terminal %s: proof of play %+v, want speech heard", r.Terminal, r.Played)
		}
	}
	var ann apiAnnouncement
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/announcements/"+out.Announcement, nil, &ann)
	if ann.Author != "li" || ann.Reviewer != "wang" || len(ann.Flags) == 0 || !ann.Flags[0].Acknowledged {
		t.Errorf("announcement %+v: want written by li, approved by wang with the flag acknowledged", ann)
	}
	var rec struct {
		ProgramID string `json:"program_id"`
		State     string `json:"state"`
	}
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/announcements/"+out.Recording, nil, &rec)
	if rec.ProgramID == "" || rec.State != "approved" {
		t.Errorf("announcement %s of an uploaded recording: %+v, want approved with its program", out.Recording, rec)
	}
	var schedules []struct {
		Announcement string `json:"announcement"`
		Cron         string `json:"cron"`
		Paused       bool   `json:"paused"`
	}
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/schedules", nil, &schedules)
	if len(schedules) != 1 || schedules[0].Announcement != out.Recording || schedules[0].Cron != "0 8 * * 1,2,3,4,5" || !schedules[0].Paused {
		t.Errorf("schedules %+v, want the recording at 08:00 on weekdays (edited), paused", schedules)
	}
	shout := awaitFinishedReport(t, c.HTTPAddr, out.Shout)
	if shout.Counts["done"] != groupSize {
		t.Errorf("shout %s from the browser microphone: counts %v, want the %d terminals of group %s done", out.Shout, shout.Counts, groupSize, group)
	}
	for _, r := range shout.Receipts {
		if r.Played == nil || r.Played.Peak < 0.05 {
			t.Errorf("shout: terminal %s proof of play %+v, want the microphone's tone heard", r.Terminal, r.Played)
		}
	}
	var em struct {
		State string `json:"state"`
		Title string `json:"title"`
	}
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/broadcasts/"+out.Emergency, nil, &em)
	if em.Title != "演练：防汛通知" || em.State != "cancelled" {
		t.Errorf("emergency %s: %+v, want the one sent after confirmation, cancelled from its report", out.Emergency, em)
	}
}
