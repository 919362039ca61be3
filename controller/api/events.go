package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"dalaba/controller/control"
	"dalaba/controller/health"
	"dalaba/controller/review"
	"dalaba/proto/wire"
)

// eventJSON is a stored terminal event with a description for staff.
type eventJSON struct {
	health.Event
	What string `json:"what"` // 中文：供电电流过低：故障, 离线, 恢复在线 ...
}

// listEvents answers GET /api/v1/events?terminal=&limit= (default 100, at most 1000), newest
// first, of the terminals inside the caller's scope.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, u review.User) {
	q := r.URL.Query()
	terminal := q.Get("terminal")
	if terminal != "" {
		if _, ok := s.Inventory().Terminal(terminal); !ok {
			s.controlFail(w, r, fmt.Errorf("%w: %q", control.ErrUnknownTerminal, terminal))
			return
		}
		target := []wire.Address{{Tier: wire.TierTerminal, Code: terminal}}
		if err := s.inScope(u, target); err != nil && !seesAll(u) {
			s.refuseOutside(w, r, u, "read", "terminal:"+terminal, target, err)
			return
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.controlFail(w, r, &control.InputError{Field: "limit", Message: "条数应为 1 到 1000 之间的整数", Err: errors.New("limit " + v)})
			return
		}
		limit = n
	}
	fetch := limit
	if terminal == "" {
		fetch = 1000 // then only those of terminals in scope, up to limit
	}
	evs, err := s.Events.List(r.Context(), terminal, fetch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	inv := s.Inventory()
	out := []eventJSON{}
	for _, ev := range evs {
		if t, ok := inv.Terminal(ev.Terminal); !ok || !seesTerminal(u, t) {
			continue
		}
		if out = append(out, eventJSON{Event: ev, What: ev.Describe()}); len(out) == limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}
