package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"dalaba/controller/review"
	"dalaba/controller/schedule"
)

// slotJSON is one entry of a schedule's slot log. fired_ms is when Fire was called: late_ms
// (fired_ms - due_ms) is how late the slot started.
type slotJSON struct {
	ScheduleID  string `json:"schedule_id"`
	Due         string `json:"due"` // RFC 3339 in the schedule's zone
	DueMs       int64  `json:"due_ms"`
	State       string `json:"state"` // claimed, fired, missed, skipped, failed
	What        string `json:"what"`  // the state for staff, in Chinese
	BroadcastID string `json:"broadcast_id"`
	Reason      string `json:"reason,omitempty"`
	Attempts    int    `json:"attempts"` // calls of Fire; 2 after a crash between claim and result
	ClaimedMs   int64  `json:"claimed_ms,omitempty"`
	FiredAt     string `json:"fired_at,omitempty"`
	FiredMs     int64  `json:"fired_ms,omitempty"`
	LateMs      int64  `json:"late_ms,omitempty"`
	DoneMs      int64  `json:"done_ms,omitempty"`
}

var slotWhat = map[string]string{
	schedule.StateClaimed: "正在播出", schedule.StateFired: "已播出", schedule.StateMissed: "错过",
	schedule.StateSkipped: "已跳过", schedule.StateFailed: "失败",
}

func toSlotJSON(r schedule.SlotRecord) slotJSON {
	out := slotJSON{ScheduleID: r.ScheduleID, Due: r.Due.Format(time.RFC3339Nano), DueMs: r.Due.UnixMilli(), State: r.State,
		What: slotWhat[r.State], BroadcastID: r.BroadcastID, Reason: r.Reason, Attempts: r.Attempts,
		ClaimedMs: unixMs(r.Claimed), FiredMs: unixMs(r.Fired), DoneMs: unixMs(r.Done)}
	if !r.Fired.IsZero() {
		out.FiredAt, out.LateMs = r.Fired.Format(time.RFC3339Nano), r.Fired.Sub(r.Due).Milliseconds()
	}
	return out
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// scheduleSlots answers GET /api/v1/schedules/{id}/slots?limit= (default 50, at most 1000),
// newest first. The log outlives a deleted schedule.
func (s *Server) scheduleSlots(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.scheduleFail(w, r, &schedule.InputError{Field: "limit", Message: "条数应为 1 到 1000 之间的整数", Err: errors.New("limit " + v)})
			return
		}
		limit = n
	}
	slots, err := s.Schedules.Slots(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		s.scheduleFail(w, r, err)
		return
	}
	out := make([]slotJSON, len(slots))
	for i, sl := range slots {
		out[i] = toSlotJSON(sl)
	}
	writeJSON(w, http.StatusOK, out)
}

// PlannedJSON is a slot in the week view; state and what are set once it is in the slot log.
type PlannedJSON struct {
	ScheduleID   string   `json:"schedule_id"`
	Name         string   `json:"name"`
	Announcement string   `json:"announcement"`
	To           []string `json:"to"`
	Due          string   `json:"due"`
	DueMs        int64    `json:"due_ms"`
	Paused       bool     `json:"paused"`
	State        string   `json:"state,omitempty"`
	What         string   `json:"what,omitempty"`
	BroadcastID  string   `json:"broadcast_id"`
}

// scheduleWeek answers GET /api/v1/schedules/week?from= : every schedule's slots in the seven
// days from `from` (a date, 2006-01-02, meaning its midnight in the controller's zone, or RFC
// 3339; default now), in time order, at most 1000; only schedules inside the caller's scope.
func (s *Server) scheduleWeek(w http.ResponseWriter, r *http.Request, u review.User) {
	loc, err := time.LoadLocation(s.Schedules.TimeZone())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	from := s.Schedules.Now().In(loc)
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = time.ParseInLocation(time.DateOnly, v, loc); err != nil {
			if from, err = time.Parse(time.RFC3339, v); err != nil {
				s.scheduleFail(w, r, &schedule.InputError{Field: "from", Message: "起始日期格式错误，应为 2006-01-02 或 RFC 3339", Err: fmt.Errorf("from %q", v)})
				return
			}
		}
	}
	to := from.AddDate(0, 0, 7)
	plan, truncated, err := s.Schedules.Plan(r.Context(), from, to, 1000)
	if err != nil {
		s.scheduleFail(w, r, err)
		return
	}
	slots := []PlannedJSON{}
	visible := map[string]bool{}
	for _, p := range plan {
		v, seen := visible[p.Schedule.ID]
		if !seen {
			v = s.scheduleVisible(r.Context(), u, p.Schedule)
			visible[p.Schedule.ID] = v
		}
		if !v {
			continue
		}
		i := len(slots)
		sc := toScheduleJSON(p.Schedule, from)
		slots = append(slots, PlannedJSON{ScheduleID: sc.ID, Name: sc.Name, Announcement: sc.Announcement, To: sc.To,
			Due: p.Due.Format(time.RFC3339Nano), DueMs: p.Due.UnixMilli(), Paused: sc.Paused,
			BroadcastID: schedule.BroadcastID(sc.ID, p.Due)})
		if p.Record != nil {
			slots[i].State, slots[i].What, slots[i].BroadcastID = p.Record.State, slotWhat[p.Record.State], p.Record.BroadcastID
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339),
		"timezone": loc.String(), "slots": slots, "truncated": truncated})
}

// reloadSchedules re-reads the schedule files: all apply, or none do and the answer names the
// file, line and field at fault.
func (s *Server) reloadSchedules(w http.ResponseWriter, r *http.Request) {
	res, err := s.Schedules.Reload(r.Context())
	if err != nil {
		s.scheduleFail(w, r, err)
		return
	}
	nonNil := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": nonNil(res.Files), "added": nonNil(res.Added),
		"changed": nonNil(res.Changed), "removed": nonNil(res.Removed), "unchanged": nonNil(res.Unchanged)})
}
