package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"dalaba/controller/dispatch"
	"dalaba/controller/inventory"
	"dalaba/controller/review"
	"dalaba/proto/wire"
)

// Tiered permissions (镇、村、组三级): a staff user may address only terminals inside their
// scope. A town account may address its town or anything in it; a village account its village,
// a group in it or single terminals in it, but not the town or another village; a group account
// only its group and its terminals. This is the one place the rule is checked; emergencies,
// cancels and shouts use it.

// ScopeError is a target outside the user's scope: HTTP 403.
type ScopeError struct {
	User    string
	Scope   string       // the user's scope, e.g. village:361126104201 ("" when never set)
	Target  wire.Address // the first target outside it
	Message string       // for staff, in Chinese
}

func (e *ScopeError) Error() string {
	if e.Scope == "" {
		return fmt.Sprintf("user %s has no broadcast scope", e.User)
	}
	return fmt.Sprintf("target %s is outside the scope %s of user %s", e.Target, e.Scope, e.User)
}

// checkScope reports whether every target's terminals all lie inside u's scope: nil, a
// *dispatch.InputError for a target the inventory does not know (400), or a *ScopeError (403).
func (s *Server) checkScope(u review.User, targets []wire.Address) error {
	inv := s.Inventory()
	scope, err := review.ParseScope(u.Scope)
	if err != nil {
		return &ScopeError{User: u.Name, Message: "您的账号尚未设置广播范围，不能发送应急广播或喊话，请联系管理员"}
	}
	for _, t := range targets {
		terminals := inv.Under(t)
		if len(terminals) == 0 {
			return &dispatch.InputError{Field: "targets", Message: "目标地址不存在：" + t.String(),
				Err: &inventory.UnknownAddressError{Address: t}}
		}
		for _, term := range terminals {
			if !inside(scope, term) {
				return &ScopeError{User: u.Name, Scope: scope.String(), Target: t,
					Message: fmt.Sprintf("超出您的广播范围：您的账号只能向 %s 广播，目标 %s 不在范围内", placeName(inv, scope), placeName(inv, t))}
			}
		}
	}
	return nil
}

// inside reports whether terminal t is in the place scope names.
func inside(scope wire.Address, t inventory.Terminal) bool {
	switch scope.Tier {
	case wire.TierTown:
		return t.TownCode == scope.Code
	case wire.TierVillage:
		return t.VillageCode == scope.Code
	case wire.TierGroup:
		return t.GroupCode == scope.Code
	}
	return false
}

// placeName is an address as staff read it: 曹溪村（village:361126104201）; a terminal with its
// village and group.
func placeName(inv *inventory.Inventory, a wire.Address) string {
	if a.Tier == wire.TierTerminal {
		if t, ok := inv.Terminal(a.Code); ok {
			return fmt.Sprintf("终端 %s（%s%s）", a.Code, t.VillageName, t.GroupName)
		}
		return "终端 " + a.Code
	}
	if name := inv.Name(a); name != "" {
		return fmt.Sprintf("%s（%s）", name, a)
	}
	return a.String()
}

// refuseOutside answers a failed scope check, 403 or 400, and audits a 403 as action+"_denied"
// on object: refusals are part of the record of who tried to reach whom.
func (s *Server) refuseOutside(w http.ResponseWriter, r *http.Request, u review.User, action, object string, targets []wire.Address, err error) {
	var se *ScopeError
	if !errors.As(err, &se) {
		s.fail(w, r, err)
		return
	}
	addrs := make([]string, len(targets))
	for i, t := range targets {
		addrs[i] = t.String()
	}
	details := map[string]any{"scope": u.Scope, "targets": addrs}
	if se.Target.Code != "" {
		details["outside"] = se.Target.String()
	}
	s.record(r.Context(), u, action+"_denied", object, details)
	writeJSON(w, http.StatusForbidden, apiError{Error: se.Message, Field: "targets", Detail: se.Error()})
}

// record writes an audit entry; a failure is logged, since the action it records has happened
// or been refused already.
func (s *Server) record(ctx context.Context, u review.User, action, object string, details any) {
	markRecorded(ctx)
	if err := s.Review.Record(ctx, u.Name, action, object, details); err != nil {
		s.Log.Error("audit", "action", action, "object", object, "user", u.Name, "err", err)
	}
}
