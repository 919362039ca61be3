package schedule

import (
	"context"
	"errors"
	"strconv"
	"time"

	"dalaba/proto/wire"
)

// Slot is one due occurrence of a schedule, handed to Fire.
type Slot struct {
	ScheduleID   string
	ScheduleName string
	Announcement string         // the announcement's id or key, as the schedule names it
	Targets      []wire.Address // overrides the announcement's own targets when not empty
	Due          time.Time      // in the schedule's time zone
	// BroadcastID is derived from (ScheduleID, Due) alone: the same slot always carries the
	// same id, so a Fire repeated after a crash between claim and result can recognise a
	// broadcast it already sent and answer its id instead of sending it again.
	BroadcastID string
	Attempt     int // 1 the first time; more only when a claimed slot is recovered after a crash
}

// Fire sends a slot's announcement and returns the broadcast id. The controller supplies it.
// It must be idempotent on s.BroadcastID. Return Skip(reason) when the slot should not play
// (the announcement is missing or not approved): the slot is logged skipped, not failed.
type Fire func(ctx context.Context, s Slot) (broadcastID string, err error)

// SkipError says a slot was deliberately not played, and why.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip is what a Fire returns for a slot that should not play.
func Skip(reason string) error { return &SkipError{Reason: reason} }

// NoAnnouncementService is the reason the default Fire gives, until the controller wires
// schedules to announcements.
const NoAnnouncementService = "no announcement service"

// DefaultFire plays nothing: every slot is logged skipped. The controller replaces it.
func DefaultFire(ctx context.Context, s Slot) (string, error) {
	return "", Skip(NoAnnouncementService)
}

// BroadcastID is the deterministic broadcast id of a schedule's slot: "sch-<schedule
// id>-<due unix ms>". Readable on purpose: an operator looking at a broadcast sees which
// schedule and slot sent it. Schedule ids are at most 40 characters so that it stays within
// the 64 dispatch accepts for a caller-chosen id.
func BroadcastID(scheduleID string, due time.Time) string {
	return "sch-" + scheduleID + "-" + strconv.FormatInt(due.UnixMilli(), 10)
}

func isSkip(err error) (string, bool) {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Reason, true
	}
	return "", false
}
