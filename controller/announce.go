package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"dalaba/controller/dispatch"
	"dalaba/controller/review"
	"dalaba/controller/schedule"
	"dalaba/controller/tts"
	"dalaba/proto/wire"
)

// An approved announcement becomes a broadcast here: its text spoken by the TTS engine (or its
// uploaded program), sent to its targets. Nothing routine plays without approval: Approved
// refuses drafts, rejected and expired announcements.

// publishAnnouncement sends announcement id now, as broadcast broadcastID (empty: a new id),
// to targets (empty: the announcement's own).
func (c *Controller) publishAnnouncement(ctx context.Context, id int64, broadcastID string, targets []wire.Address) (string, error) {
	a, err := c.Review.Approved(ctx, id)
	if err != nil {
		return "", err
	}
	if len(targets) == 0 {
		if targets, err = wire.ParseAddresses(a.Targets); err != nil {
			return "", fmt.Errorf("announcement %d targets: %w", id, err)
		}
	}
	req := dispatch.Request{ID: broadcastID, Title: a.Title, Targets: targets, ValidFor: time.Until(a.ValidUntil)}
	switch {
	case a.Text != "" && c.TTS == nil:
		return "", tts.ErrUnavailable
	case a.Text != "":
		if req.PCM, err = c.TTS.Speak(ctx, a.Text, a.Voice); err != nil {
			return "", fmt.Errorf("speak announcement %d: %w", id, err)
		}
		req.Source = "tts " + a.Voice
	default:
		if req.PCM, err = c.Dispatcher.Programs.Get(a.ProgramID); err != nil {
			return "", fmt.Errorf("announcement %d program: %w", id, err)
		}
		req.Source = "program " + a.ProgramID
	}
	if req.ValidFor > dispatch.MaxValidFor {
		req.ValidFor = dispatch.MaxValidFor
	}
	return c.Dispatcher.Broadcast(ctx, req)
}

// fireSlot is the schedules' Fire: a slot plays its announcement if it is approved and inside
// its validity window, else the slot is logged skipped with the reason.
func (c *Controller) fireSlot(ctx context.Context, s schedule.Slot) (string, error) {
	id, err := c.Review.Lookup(ctx, s.Announcement)
	if errors.Is(err, review.ErrNotFound) {
		return "", schedule.Skip(err.Error())
	}
	if err != nil {
		return "", err
	}
	bid, err := c.publishAnnouncement(ctx, id, s.BroadcastID, s.Targets)
	switch {
	case errors.Is(err, review.ErrNotFound), errors.Is(err, review.ErrNotApproved), errors.Is(err, review.ErrOutsideValidity):
		return "", schedule.Skip(err.Error())
	case err != nil:
		return "", err
	}
	if err := c.Review.MarkScheduled(ctx, id, "schedule:"+s.ScheduleID); err != nil {
		c.log.Warn("mark announcement scheduled", "announcement", id, "err", err)
	}
	if err := c.Review.RecordBroadcast(ctx, id, bid); err != nil {
		c.log.Warn("record scheduled broadcast", "announcement", id, "broadcast", bid, "err", err)
	}
	return bid, nil
}

// PublishNow sends an approved announcement at once and closes it: the reviewer publishes.
func (c *Controller) PublishNow(ctx context.Context, id int64) (string, error) {
	bid, err := c.publishAnnouncement(ctx, id, "", nil)
	if err != nil {
		return "", err
	}
	return bid, c.Review.MarkDone(ctx, id, bid)
}

// startTTS loads the voices; without a working engine the controller still runs (uploaded
// audio plays), and text announcements fail with tts.ErrUnavailable.
func (c *Controller) startTTS(opts Options) {
	s, err := tts.New(opts.VoicesDir, opts.DataDir+"/tts-cache", c.log)
	if err != nil {
		c.log.Error("text-to-speech unavailable: text announcements cannot be spoken", "voices", opts.VoicesDir, "err", err)
		return
	}
	c.TTS = s
}
