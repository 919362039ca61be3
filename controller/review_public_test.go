package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"dalaba/controller/review"
)

// The public archive (公开栏) shows what went out or is scheduled to, where and when, to anyone,
// newest first; nothing still in review, and nothing about staff.
func TestPublicArchiveShowsOnlyScheduledAndDone(t *testing.T) {
	c, _ := startReview(t, nil)
	tok := staffTeam(t, c)
	ctx := context.Background()
	approved := func(title string, body map[string]any) int64 {
		if body == nil {
			body = announcementBody(title)
		}
		body["title"] = title
		a := createAnnouncement(t, c, tok["li"], body)
		staffMust(t, 200, c, tok["li"], "POST", annPath(a.ID, "submit"), nil, nil)
		staffMust(t, 200, c, tok["wang"], "POST", annPath(a.ID, "approve"), map[string]any{"revision": 1}, nil)
		return a.ID
	}
	createAnnouncement(t, c, tok["li"], announcementBody("草稿"))
	submitted := createAnnouncement(t, c, tok["li"], announcementBody("待审核"))
	staffMust(t, 200, c, tok["li"], "POST", annPath(submitted.ID, "submit"), nil, nil)
	approved("已通过未排期", nil)
	done := approved("已播出", nil)
	scheduled := approved("已排期", nil)
	later := announcementBody("")
	later["valid_from"] = time.Now().Add(24 * time.Hour)
	notYet := approved("明天起有效", later)

	if err := c.Review.RecordBroadcast(ctx, done, "bcast-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Review.MarkDone(ctx, done, "bcast-2"); err != nil {
		t.Fatal(err)
	}
	if err := c.Review.MarkDone(ctx, done, "bcast-2"); err != nil { // a retry changes nothing
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // scheduled after the last broadcast, at millisecond precision
	if err := c.Review.MarkScheduled(ctx, scheduled, "schedule"); err != nil {
		t.Fatal(err)
	}
	if err := c.Review.MarkScheduled(ctx, submitted.ID, "schedule"); !errors.Is(err, review.ErrNotApproved) {
		t.Fatalf("scheduling a submitted announcement: %v", err)
	}
	if _, err := c.Review.Approved(ctx, done); !errors.Is(err, review.ErrNotApproved) {
		t.Fatalf("Approved of a done announcement: %v", err)
	}
	if _, err := c.Review.Approved(ctx, notYet); !errors.Is(err, review.ErrOutsideValidity) {
		t.Fatalf("Approved before its validity: %v", err)
	}
	if _, err := c.Review.Approved(ctx, 999); !errors.Is(err, review.ErrNotFound) {
		t.Fatalf("Approved of no announcement: %v", err)
	}

	var list []map[string]any
	staffMust(t, 200, c, "", "GET", "/api/v1/public/announcements", nil, &list)
	var titles []string
	for _, a := range list {
		titles = append(titles, a["title"].(string))
	}
	if strings.Join(titles, ",") != "已排期,已播出" {
		t.Fatalf("public archive lists %v", titles)
	}
	raw, _ := json.Marshal(list)
	for _, private := range []string{"author", "reviewer", `"li"`, "wang", "flags", "revision"} {
		if strings.Contains(string(raw), private) {
			t.Errorf("public archive shows %s: %s", private, raw)
		}
	}
	d := list[1]
	if d["state"] != "done" || d["category_name"] != "决策公开" || d["domain_name"] != "惠农补贴" ||
		!strings.Contains(d["text"].(string), "耕地地力保护补贴") || len(d["published_at"].([]any)) != 2 {
		t.Fatalf("done in the archive: %v", d)
	}
	if v := d["villages"].([]any); len(v) != 2 || v[0] != "曹溪村" || v[1] != "东港村" {
		t.Fatalf("villages %v", v)
	}
	staffMust(t, 405, c, "", "POST", "/api/v1/public/announcements", map[string]any{}, nil)
}
