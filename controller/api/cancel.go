package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"dalaba/controller/dispatch"
	"dalaba/controller/receipts"
	"dalaba/controller/review"
	"dalaba/proto/wire"
)

const maxReasonRunes = 200

// cancelBroadcast: POST /api/v1/broadcasts/{id}/cancel {"reason"} stops a broadcast everywhere
// at once. The sender's scope must cover all of its targets. The cancel goes out first and is
// audited after: stopping must not wait on the record.
func (s *Server) cancelBroadcast(w http.ResponseWriter, r *http.Request, u review.User) {
	id := r.PathValue("id")
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	reason := strings.TrimSpace(req.Reason)
	if n := utf8.RuneCountInString(reason); n > maxReasonRunes {
		s.fail(w, r, &dispatch.InputError{Field: "reason", Message: fmt.Sprintf("取消原因不能超过 %d 个字", maxReasonRunes),
			Err: fmt.Errorf("reason has %d characters, limit %d", n, maxReasonRunes)})
		return
	}
	if reason == "" {
		reason = "由 " + u.DisplayName + " 取消"
	}
	sum, err := s.Book.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err) // 404 for an unknown broadcast
		return
	}
	targets, err := wire.ParseAddresses(sum.Targets)
	if err != nil {
		s.fail(w, r, fmt.Errorf("broadcast %s targets: %w", id, err))
		return
	}
	if err := s.checkScope(u, targets); err != nil {
		s.refuseOutside(w, r, u, "cancel", "broadcast:"+id, targets, err)
		return
	}
	// The book decides whether it is too late: a broadcast "finished" with terminals offline
	// may still be redelivered to them, so it can be cancelled.
	b, err := s.Dispatcher.Cancel(r.Context(), id, reason)
	switch {
	case errors.Is(err, receipts.ErrClosed):
		writeJSON(w, http.StatusConflict, apiError{Error: "广播已结束，无法取消", Detail: err.Error()})
		return
	case err != nil && b.ID == "":
		s.fail(w, r, err)
		return
	case err != nil:
		// Recorded as cancelled, but the stop did not reach the broker: terminals stop at the
		// end time, or when the stop is sent again.
		s.record(r.Context(), u, "cancel", "broadcast:"+id, map[string]any{"reason": reason, "title": sum.Title, "targets": sum.Targets, "stop_error": err.Error()})
		s.fail(w, r, err)
		return
	}
	s.record(r.Context(), u, "cancel", "broadcast:"+id, map[string]any{"reason": reason, "title": sum.Title, "targets": sum.Targets,
		"priority": sum.Priority, "severity": sum.Severity})
	s.Log.Warn("broadcast cancelled", "broadcast", id, "by", u.Name, "reason", reason)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "state": receipts.StateCancelled, "reason": b.CancelReason,
		"cancelled_at": b.CancelledAt.Format(time.RFC3339Nano)})
}
