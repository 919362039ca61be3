package review

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"dalaba/proto/wire"
)

// A staff user's scope is the one place they may address in an emergency or a shout (镇、村、组
// 三级): a town, a village or a group of the inventory. The API checks targets against it
// (controller/api/scope.go); here it is only stored and validated.

// scopeDigits are the code lengths of the tiers a scope may name: 9-digit town, 12-digit village
// (county + town + village), 15-digit group (village + sequence).
var scopeDigits = map[wire.Tier]int{wire.TierTown: 9, wire.TierVillage: 12, wire.TierGroup: 15}

var digits = regexp.MustCompile(`^[0-9]+$`)

// ParseScope reads a scope: town:<9 digits>, village:<12 digits> or group:<15 digits>.
func ParseScope(s string) (wire.Address, error) {
	a, err := wire.ParseAddress(s)
	if err != nil {
		return wire.Address{}, err
	}
	n, ok := scopeDigits[a.Tier]
	if !ok {
		return wire.Address{}, fmt.Errorf("scope %q: want town, village or group, not %s", s, a.Tier)
	}
	if len(a.Code) != n || !digits.MatchString(a.Code) {
		return wire.Address{}, fmt.Errorf("scope %q: a %s code has %d digits", s, a.Tier, n)
	}
	return a, nil
}

const scopeHint = "广播范围须为 town:9 位镇编码、village:12 位村编码 或 group:15 位组编码"

// validScope checks that scope is well formed and names a place of the inventory, and returns
// it normalised.
func (s *Service) validScope(scope string) (string, error) {
	a, err := ParseScope(scope)
	if err != nil {
		return "", invalid("scope", scopeHint, err)
	}
	if s.inv == nil || len(s.inv().Under(a)) == 0 {
		return "", invalid("scope", "广播范围不在终端清单中："+a.String(), fmt.Errorf("scope %s: no terminal of the inventory is there", a))
	}
	return a.String(), nil
}

// defaultScope is the inventory's town, or "" when it has no terminals or several towns.
func (s *Service) defaultScope() string {
	if s.inv == nil {
		return ""
	}
	towns := map[string]bool{}
	for _, t := range s.inv().Terminals() {
		towns[t.TownCode] = true
	}
	if len(towns) != 1 {
		return ""
	}
	for code := range towns {
		return wire.Address{Tier: wire.TierTown, Code: code}.String()
	}
	return ""
}

// ScopeName is the place a scope names, as staff read it (曹溪镇, 曹溪村, 杨家坪组...); the scope
// itself when the inventory does not know it.
func (s *Service) ScopeName(scope string) string {
	a, err := wire.ParseAddress(scope)
	if err != nil || s.inv == nil {
		return scope
	}
	if name := s.inv().Name(a); name != "" {
		return name
	}
	return scope
}

// backfillScopes gives every user without a scope the inventory's town, and audits it: users
// created before scopes existed. With no single town (no inventory yet, or several towns) they
// keep none, and may not send emergencies or shout until an admin sets one.
func (s *Service) backfillScopes(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM users WHERE scope = ''`)
	if err != nil {
		return fmt.Errorf("users without scope: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("users without scope: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(names) == 0 {
		return err
	}
	def := s.defaultScope()
	if def == "" {
		sort.Strings(names)
		s.log.Warn("staff users without a broadcast scope, and the inventory has no single town to give them",
			"users", names)
		return nil
	}
	return s.change(ctx, "default scopes", func(tx *sql.Tx) error {
		for _, n := range names {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET scope=? WHERE name=? AND scope=''`, def, n); err != nil {
				return fmt.Errorf("default scope of %s: %w", n, err)
			}
			if err := s.audit(ctx, tx, "system", "user_scope", "user:"+n, nil, map[string]string{"scope": def, "why": "default: the town of the inventory"}); err != nil {
				return err
			}
		}
		s.log.Info("staff users given the town as broadcast scope", "scope", def, "users", len(names))
		return nil
	})
}

// covers reports whether an actor whose scope is outer may manage a user whose scope is inner:
// inner lies inside outer (codes are hierarchical: a village's starts with its town's). An
// actor without a scope (the first admin of a site with several towns) covers every scope; a
// user without a scope is covered only by such an actor, since they may be that admin.
func covers(outer, inner string) bool {
	if outer == "" {
		return true
	}
	o, err := ParseScope(outer)
	if err != nil {
		return false
	}
	i, err := ParseScope(inner)
	if err != nil {
		return false
	}
	return len(i.Code) >= len(o.Code) && strings.HasPrefix(i.Code, o.Code)
}

// Covers is covers for the API: whether actor may manage a user whose scope is scope.
func Covers(actor User, scope string) bool { return covers(actor.Scope, scope) }

func (s *Service) outsideScope(actor User, scope string) *Error {
	return forbidden(fmt.Sprintf("超出您的管理范围：您只能管理%s内的账号", s.scopeText(actor.Scope)),
		"scope %q is outside %s's scope %q", scope, actor.Name, actor.Scope)
}

// scopeText is a scope as staff read it: 曹溪村（village:361126104201）.
func (s *Service) scopeText(scope string) string {
	if scope == "" {
		return "（未设置）"
	}
	if name := s.ScopeName(scope); name != scope {
		return name + "（" + scope + "）"
	}
	return scope
}
