package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"dalaba/controller/dispatch"
	"dalaba/controller/inventory"
	"dalaba/controller/review"
	"dalaba/controller/schedule"
	"dalaba/proto/wire"
)

// Scopes on every route: what a user sends, schedules, announces or controls must lie inside
// their scope (checkScope), and what they read is what they could have sent. A target the
// inventory no longer knows (an old broadcast, a schedule of a missing announcement) is inside
// only the scope of someone who covers every terminal of the site. An admin without a scope
// (the first admin of a site with several towns) reads everything and manages every account,
// but sends nothing until given a scope.

// inScope is checkScope for reads and checks of stored things: nil, or a *ScopeError; an
// unknown address is outside unless u covers the whole site.
func (s *Server) inScope(u review.User, targets []wire.Address) error {
	err := s.checkScope(u, targets)
	var in *dispatch.InputError
	if errors.As(err, &in) {
		if s.coversAll(u) {
			return nil
		}
		return &ScopeError{User: u.Name, Scope: u.Scope, Message: "超出您的范围：目标不在终端清单中，只有管辖全部终端的账号可以查看或操作"}
	}
	return err
}

// visible reports whether u may see something addressed to targets (comma-separated).
func (s *Server) visible(u review.User, targets string) bool {
	if seesAll(u) {
		return true
	}
	addrs, err := wire.ParseAddresses(targets)
	if err != nil || len(addrs) == 0 {
		return s.coversAll(u)
	}
	return s.inScope(u, addrs) == nil
}

// seesAll reports whether u is an admin without a scope, who reads everything.
func seesAll(u review.User) bool { return u.Scope == "" && u.Is(review.Admin) }

// seesTerminal reports whether t lies inside u's scope, or u sees everything.
func seesTerminal(u review.User, t inventory.Terminal) bool {
	if seesAll(u) {
		return true
	}
	scope, err := review.ParseScope(u.Scope)
	return err == nil && inside(scope, t)
}

// coversAll reports whether every terminal of the inventory lies inside u's scope, or u sees
// everything.
func (s *Server) coversAll(u review.User) bool {
	if seesAll(u) {
		return true
	}
	scope, err := review.ParseScope(u.Scope)
	if err != nil {
		return false
	}
	for _, t := range s.Inventory().Terminals() {
		if !inside(scope, t) {
			return false
		}
	}
	return true
}

// denyOutside answers a failed scope check on a route whose generic audit record has the
// refusal (403) already: 403, or what fail makes of another error.
func (s *Server) denyOutside(w http.ResponseWriter, r *http.Request, err error) {
	var se *ScopeError
	if !errors.As(err, &se) {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusForbidden, apiError{Error: se.Message, Field: "targets", Detail: se.Error()})
}

// terminalInScope lets h control terminal {id} only when it lies inside the caller's scope.
// An unknown terminal is h's to answer (404).
func (s *Server) terminalInScope(h http.HandlerFunc) handler {
	return func(w http.ResponseWriter, r *http.Request, u review.User) {
		id := r.PathValue("id")
		if _, ok := s.Inventory().Terminal(id); ok {
			if err := s.checkScope(u, []wire.Address{{Tier: wire.TierTerminal, Code: id}}); err != nil {
				s.denyOutside(w, r, err)
				return
			}
		}
		h(w, r)
	}
}

// broadcastInScope lets u read broadcast {id} only when its targets lie inside u's scope.
func (s *Server) broadcastInScope(h http.HandlerFunc) handler {
	return func(w http.ResponseWriter, r *http.Request, u review.User) {
		id := r.PathValue("id")
		sum, err := s.Book.Get(r.Context(), id)
		if err != nil {
			h(w, r) // unknown: the handler's 404
			return
		}
		targets, _ := wire.ParseAddresses(sum.Targets)
		if !s.visible(u, sum.Targets) {
			s.refuseOutside(w, r, u, "read", "broadcast:"+id, targets, s.inScope(u, targets))
			return
		}
		h(w, r)
	}
}

// announcementInScope lets u act on announcement {id} only when its targets lie inside u's
// scope; its author may still read it after their scope changed.
func (s *Server) announcementInScope(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, u review.User) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			h(w, r, u) // the handler's 400 or 404
			return
		}
		a, err := s.Review.Get(r.Context(), id)
		if err != nil {
			h(w, r, u)
			return
		}
		if r.Method == http.MethodGet && a.Author == u.Name {
			h(w, r, u)
			return
		}
		if !s.visible(u, a.Targets) {
			targets, _ := wire.ParseAddresses(a.Targets)
			s.refuseOutside(w, r, u, "announcement", "announcement:"+r.PathValue("id"), targets, s.inScope(u, targets))
			return
		}
		h(w, r, u)
	}
}

// newAnnouncementInScope checks the targets an announcement is given (on create or edit)
// before h stores them. Malformed ones are the review service's to refuse.
func (s *Server) newAnnouncementInScope(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, u review.User) {
		var in struct {
			Targets *string `json:"targets"`
		}
		if !peekJSON(w, r, &in) {
			badBody(w)
			return
		}
		if in.Targets != nil {
			if targets, err := wire.ParseAddresses(*in.Targets); err == nil && len(targets) > 0 {
				if err := s.checkScope(u, targets); err != nil {
					s.refuseOutside(w, r, u, "announcement", "user:"+u.Name, targets, err)
					return
				}
			}
		}
		h(w, r, u)
	}
}

// peekJSON decodes a copy of a JSON body (at most 256 KiB, as decodeJSON reads) into v and
// puts the body back for the handler. False when it is not one JSON value: the handler, which
// reads only the first value, must not see a body the scope check did not.
func peekJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Body == nil {
		return true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 256<<10+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
	if err != nil || len(b) > 256<<10 {
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true // the handler reads an empty body as {}
	}
	return json.Unmarshal(b, v) == nil
}

// badBody answers a body peekJSON could not read.
func badBody(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, apiError{Error: "请求格式错误：需要一个 JSON 对象（不超过 256 KiB）", Field: "body",
		Detail: "body is not one JSON value"})
}

// scheduleTargets is where a schedule's slots go: its own targets, or its announcement's.
// ok is false when that cannot be told (the announcement does not exist).
func (s *Server) scheduleTargets(ctx context.Context, to []wire.Address, announcement string) ([]wire.Address, bool) {
	if len(to) > 0 {
		return to, true
	}
	id, err := s.Review.Lookup(ctx, strings.TrimSpace(announcement))
	if err != nil {
		return nil, false
	}
	a, err := s.Review.Get(ctx, id)
	if err != nil {
		return nil, false
	}
	targets, err := wire.ParseAddresses(a.Targets)
	return targets, err == nil && len(targets) > 0
}

// scheduleVisible reports whether u may see a schedule.
func (s *Server) scheduleVisible(ctx context.Context, u review.User, sc schedule.Schedule) bool {
	targets, ok := s.scheduleTargets(ctx, sc.Targets, sc.Announcement)
	if !ok {
		return s.coversAll(u)
	}
	return s.inScope(u, targets) == nil
}

// scheduleInScope lets u act on schedule {id} only when where it plays lies inside u's scope.
// A schedule that no longer exists (its slot log outlives it) is for those who cover the site.
func (s *Server) scheduleInScope(h http.HandlerFunc) handler {
	return func(w http.ResponseWriter, r *http.Request, u review.User) {
		sc, err := s.Schedules.Get(r.Context(), r.PathValue("id"))
		switch {
		case errors.Is(err, schedule.ErrNotFound) && s.coversAll(u):
			h(w, r)
			return
		case errors.Is(err, schedule.ErrNotFound):
			s.scheduleFail(w, r, err)
			return
		case err != nil:
			s.scheduleFail(w, r, err)
			return
		}
		if r.Method == http.MethodGet && seesAll(u) {
			h(w, r)
			return
		}
		targets, ok := s.scheduleTargets(r.Context(), sc.Targets, sc.Announcement)
		err = nil
		if !ok && !s.coversAll(u) {
			err = &ScopeError{User: u.Name, Scope: u.Scope, Message: "超出您的范围：该日程的公告不存在，无法确认其广播范围"}
		} else if ok {
			err = s.inScope(u, targets)
		}
		if err != nil {
			if r.Method == http.MethodGet {
				s.refuseOutside(w, r, u, "read", "schedule:"+sc.ID, targets, err)
			} else {
				s.denyOutside(w, r, err) // the route's audit record has the refusal
			}
			return
		}
		h(w, r)
	}
}

// newScheduleInScope checks where a new schedule would play before h stores it: its targets,
// or its announcement's. When neither can be told yet (the announcement does not exist), only
// someone who covers the whole site may create it.
func (s *Server) newScheduleInScope(h http.HandlerFunc) handler {
	return func(w http.ResponseWriter, r *http.Request, u review.User) {
		var d schedule.Def
		if !peekJSON(w, r, &d) {
			badBody(w)
			return
		}
		var to []wire.Address
		var err error
		if len(d.To) > 0 {
			if to, err = wire.ParseAddresses(strings.Join(d.To, ",")); err != nil {
				h(w, r) // the handler's 400 on "to"
				return
			}
		}
		targets, ok := s.scheduleTargets(r.Context(), to, d.Announcement)
		switch {
		case ok:
			err = s.inScope(u, targets)
		case !s.coversAll(u):
			err = &ScopeError{User: u.Name, Scope: u.Scope,
				Message: "超出您的范围：找不到公告 " + d.Announcement + "，无法确认日程的广播范围；请用 to 指定您范围内的目标"}
		}
		if err != nil {
			s.denyOutside(w, r, err)
			return
		}
		h(w, r)
	}
}
