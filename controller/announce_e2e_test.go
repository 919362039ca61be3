package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/receipts"
	"dalaba/controller/schedule"
	"dalaba/terminal-agent/sink"
)

const spokenText = "各位村民请注意，2026年11月23日上午9:00在村委会发放耕地地力保护补贴，每亩1.5万元以内据实核定，咨询电话0793-5800580。"

// approvedAnnouncement runs the review workflow for a spoken announcement to terminal t001:
// the editor drafts and submits, a second person approves.
func approvedAnnouncement(t *testing.T, c *controller.Controller, team map[string]string) apiAnnouncement {
	t.Helper()
	return approve(t, c, team, map[string]any{"key": "subsidy-notice", "title": "补贴发放通知", "category": "服务公开",
		"domain": "惠农补贴", "text": spokenText, "targets": "terminal:t001", "voice": "mandarin-female"})
}

// approve drafts the announcement body as the editor, submits it, and has a reviewer approve it.
func approve(t *testing.T, c *controller.Controller, team map[string]string, body map[string]any) apiAnnouncement {
	t.Helper()
	ann := createAnnouncement(t, c, team["li"], body)
	staffMust(t, 200, c, team["li"], "POST", annPath(ann.ID, "submit"), nil, &ann)
	var ack []string
	for _, f := range ann.Flags {
		ack = append(ack, f.ID)
	}
	staffMust(t, 200, c, team["wang"], "POST", annPath(ann.ID, "approve"),
		map[string]any{"revision": ann.Revision, "comment": "同意播出", "acknowledge": ack}, &ann)
	return ann
}

func TestSpokenAnnouncementIsReviewedPublishedAndHeard(t *testing.T) {
	c, _ := startReview(t, func(o *controller.Options) { o.VoicesDir = "../tts-voices" })
	if c.TTS == nil {
		t.Fatal("text-to-speech did not start (espeak-ng and the voices in ../tts-voices are needed)")
	}
	a := startAgent(t, c, "", "t001", "361126104201001")
	waitOnline(t, c, a)
	team := staffTeam(t, c)

	draft := createAnnouncement(t, c, team["li"], map[string]any{"title": "未审核", "category": "服务公开",
		"domain": "惠农补贴", "text": spokenText, "targets": "terminal:t001"})
	if code, body := staffCall(t, c, team["wang"], "POST", annPath(draft.ID, "publish"), nil, nil); code != 409 {
		t.Fatalf("publishing a draft: %d %s, want 409: nothing routine plays without approval", code, body)
	}
	ann := approvedAnnouncement(t, c, team)
	if code, _ := staffCall(t, c, team["li"], "POST", annPath(ann.ID, "publish"), nil, nil); code != 403 {
		t.Fatalf("an editor published: %d, want 403", code)
	}
	var pub struct {
		BroadcastID string `json:"broadcast_id"`
	}
	staffMust(t, 201, c, team["wang"], "POST", annPath(ann.ID, "publish"), nil, &pub)

	pcm, err := c.TTS.Speak(context.Background(), spokenText, "mandarin-female")
	if err != nil {
		t.Fatal(err)
	}
	r := awaitReceipt(t, c, pub.BroadcastID, "t001", func(r receipts.Receipt) bool { return r.State.Final() })
	if r.State != receipts.Done || r.Played == nil || r.Played.Bytes != int64(len(pcm)) || r.Played.Peak < 0.1 {
		t.Fatalf("receipt %+v (proof %+v), want done with all %d bytes of speech", r, r.Played, len(pcm))
	}
	h := heard(t, a)["t001"]
	seconds := float64(len(pcm)) / 32000
	if span := float64(h.LastLoud-h.FirstLoud) / 16000; span < seconds*0.8 || span > seconds+0.5 || h.Loud < 16000 {
		t.Fatalf("heard %+v (span %.1f s); want about %.1f s of speech", h, span, seconds)
	}
	var public []apiAnnouncement
	staffMust(t, 200, c, "", "GET", "/api/v1/public/announcements", nil, &public)
	if len(public) != 1 || public[0].Title != "补贴发放通知" || public[0].Text != spokenText {
		t.Fatalf("public archive %+v, want the published announcement with its text", public)
	}
}

func TestScheduledSlotPlaysOnlyApprovedAnnouncements(t *testing.T) {
	c, _ := startReview(t, func(o *controller.Options) { o.VoicesDir = "../tts-voices" })
	runSimAgent(t, c, "t001", "361126104201001", sink.NewNull())
	eventually(t, 10*time.Second, func() error {
		if !c.Presence.Get("t001").Online {
			return fmt.Errorf("t001 offline")
		}
		return nil
	})
	team := staffTeam(t, c)
	approvedAnnouncement(t, c, team)
	draft := createAnnouncement(t, c, team["li"], map[string]any{"title": "草稿", "category": "服务公开",
		"domain": "惠农补贴", "text": spokenText, "targets": "terminal:t001"})

	due := time.Now().Add(1500 * time.Millisecond)
	// Schedule files name announcements by key; the API may also use the id.
	if code, _ := staffCall(t, c, team["li"], "POST", "/api/v1/announcements", map[string]any{"key": "subsidy-notice",
		"title": "重名", "category": "服务公开", "domain": "惠农补贴", "text": spokenText, "targets": "terminal:t001"}, nil); code != 409 {
		t.Fatalf("a second announcement with the same key: %d, want 409", code)
	}
	for id, ref := range map[string]string{"approved": "subsidy-notice", "draft": itoa(draft.ID)} {
		if code := schedCall(t, c.HTTPAddr, "POST", "/api/v1/schedules", map[string]any{"id": id, "name": id,
			"announcement": ref, "at": due.Format(time.RFC3339Nano)}, nil); code != 201 {
			t.Fatalf("create schedule %s: %d", id, code)
		}
	}
	var slots []slotView
	eventually(t, 15*time.Second, func() error {
		schedCall(t, c.HTTPAddr, "GET", "/api/v1/schedules/approved/slots", nil, &slots)
		if len(slots) != 1 || slots[0].State != schedule.StateFired {
			return fmt.Errorf("approved slots %+v", slots)
		}
		return nil
	})
	r := awaitReceipt(t, c, slots[0].BroadcastID, "t001", func(r receipts.Receipt) bool { return r.State.Final() })
	if r.State != receipts.Done {
		t.Fatalf("scheduled play: %+v", r)
	}
	eventually(t, 10*time.Second, func() error {
		schedCall(t, c.HTTPAddr, "GET", "/api/v1/schedules/draft/slots", nil, &slots)
		if len(slots) != 1 || slots[0].State != schedule.StateSkipped {
			return fmt.Errorf("draft slots %+v", slots)
		}
		return nil
	})
}
