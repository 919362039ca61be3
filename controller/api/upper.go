package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"dalaba/controller/cascade"
	"dalaba/controller/review"
)

// UpperMessages lists what the platforms above sent down, and the platforms below
// (cascade.Service).
type UpperMessages interface {
	Messages(ctx context.Context, limit int) ([]cascade.MessageView, error)
	Below(now time.Time) []cascade.PlatformBelow
}

// UpperMessagesJSON is GET /api/v1/upper-messages' answer.
type UpperMessagesJSON struct {
	Cascade  bool                    `json:"cascade"` // false: this controller takes no messages from above
	Messages []cascade.MessageView   `json:"messages"`
	Below    []cascade.PlatformBelow `json:"below"` // the platforms this one relays to
}

// listUpperMessages answers GET /api/v1/upper-messages?limit=: the emergency messages the
// county (or any platform above) sent down, newest first, with what each did here and its
// coverage here and below. A user sees a message that played inside their scope; one that
// played nowhere here (relayed only, a drill not played) only if they cover the whole site,
// as are the platforms below (their heartbeats and terminals), when this one relays to any.
func (s *Server) listUpperMessages(w http.ResponseWriter, r *http.Request, u review.User) {
	if s.Upper == nil {
		writeJSON(w, http.StatusOK, UpperMessagesJSON{Messages: []cascade.MessageView{}, Below: []cascade.PlatformBelow{}})
		return
	}
	limit := cascade.MaxMessages
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > cascade.MaxMessages {
			writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("limit 应为 1 到 %d 之间的整数", cascade.MaxMessages), Field: "limit"})
			return
		}
		limit = n
	}
	all, err := s.Upper.Messages(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := UpperMessagesJSON{Cascade: true, Messages: []cascade.MessageView{}, Below: []cascade.PlatformBelow{}}
	if s.coversAll(u) {
		out.Below = s.Upper.Below(time.Now())
	}
	for _, m := range all {
		if s.upperVisible(u, m) {
			out.Messages = append(out.Messages, m)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// upperVisible says whether u may see upper-level message m: its broadcast here lies inside
// u's scope, or, when nothing of it played here (or its broadcast is gone), u covers the whole
// site.
func (s *Server) upperVisible(u review.User, m cascade.MessageView) bool {
	if m.Targets == "" {
		return s.coversAll(u)
	}
	return s.visible(u, m.Targets)
}
