package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Managing accounts: an admin changes a user's role, scope, name or disables them, and resets
// passwords, only for users inside the admin's own scope and only to scopes inside it; staff
// change their own password. Whatever would leave the site without an active admin is refused.
// Every change is audited in its transaction; a disabled user's sessions end at once, and a
// password change ends the user's other sessions.

// UserChange is what an admin changes on a user; nil fields stay.
type UserChange struct {
	DisplayName *string `json:"display_name"`
	Role        *Role   `json:"role"`
	Scope       *string `json:"scope"`
	Disabled    *bool   `json:"disabled"`
}

// User is one staff user by name.
func (s *Service) User(ctx context.Context, name string) (User, error) { return s.user(ctx, name) }

// UpdateUser applies an admin's change to user name and returns the user as now stored.
func (s *Service) UpdateUser(ctx context.Context, actor User, name string, ch UserChange) (User, error) {
	if !actor.Is(Admin) {
		return User{}, forbidden("只有管理员可以修改用户", "user %s (%s) may not change users", actor.Name, actor.Role)
	}
	if ch.DisplayName == nil && ch.Role == nil && ch.Scope == nil && ch.Disabled == nil {
		return User{}, invalid("body", "请至少指定一项修改：display_name、role、scope 或 disabled", errors.New("empty change"))
	}
	var ended int64
	var before, after User
	err := s.change(ctx, "update user", func(tx *sql.Tx) error {
		var err error
		if before, err = s.userIn(ctx, tx, name); err != nil {
			return err
		}
		if !covers(actor.Scope, before.Scope) {
			return s.outsideScope(actor, before.Scope)
		}
		after = before
		if ch.DisplayName != nil {
			d := strings.TrimSpace(*ch.DisplayName)
			if d == "" || utf8.RuneCountInString(d) > 50 {
				return invalid("display_name", "姓名须为 1 到 50 个字", fmt.Errorf("display name of %d characters", utf8.RuneCountInString(d)))
			}
			after.DisplayName = d
		}
		if ch.Role != nil {
			if !validRole(*ch.Role) {
				return invalid("role", "角色须为 editor（撰稿）、reviewer（审核）或 admin（管理员）", fmt.Errorf("unknown role %q", *ch.Role))
			}
			after.Role = *ch.Role
		}
		if ch.Scope != nil {
			scope, err := s.validScope(strings.TrimSpace(*ch.Scope))
			if err != nil {
				return err
			}
			if !covers(actor.Scope, scope) {
				return s.outsideScope(actor, scope)
			}
			after.Scope = scope
		}
		if ch.Disabled != nil {
			if *ch.Disabled && name == actor.Name {
				return forbidden("不能停用自己的账号", "user %s may not disable themselves", actor.Name)
			}
			after.Disabled = *ch.Disabled
			switch {
			case after.Disabled && !before.Disabled:
				after.DisabledAt = s.now()
			case !after.Disabled:
				after.DisabledAt = time.Time{}
			}
		}
		if before.Role == Admin && !before.Disabled && (after.Role != Admin || after.Disabled) {
			if err := lastAdmin(ctx, tx, name); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name=?, role=?, scope=?, disabled_ms=? WHERE name=?`,
			after.DisplayName, after.Role, after.Scope, timeMs(after.DisabledAt), name); err != nil {
			return fmt.Errorf("update user %s: %w", name, err)
		}
		if after.Disabled {
			if ended, err = endSessions(ctx, tx, name, ""); err != nil {
				return err
			}
		}
		action := "user_update"
		switch {
		case after.Disabled && !before.Disabled:
			action = "user_disable"
		case !after.Disabled && before.Disabled:
			action = "user_enable"
		}
		return s.audit(ctx, tx, actor.Name, action, "user:"+name, before, auditedUser{after, ended})
	})
	if err != nil {
		return User{}, err
	}
	after.ScopeName = s.ScopeName(after.Scope)
	s.log.Info("user changed", "user", name, "by", actor.Name, "role", after.Role, "scope", after.Scope, "disabled", after.Disabled,
		"sessions_ended", ended)
	return after, nil
}

// auditedUser is a user after a change, with the sessions the change ended.
type auditedUser struct {
	User
	SessionsEnded int64 `json:"sessions_ended,omitempty"`
}

// lastAdmin refuses a change that would leave no active admin but name.
func lastAdmin(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role=? AND disabled_ms=0 AND name<>?`, Admin, name).Scan(&n); err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if n == 0 {
		return conflict("这是唯一可用的管理员账号，不能停用或改为其他角色；请先添加另一位管理员",
			fmt.Errorf("%s is the last active admin", name))
	}
	return nil
}

// ChangePassword changes u's own password: the old one must be right (a wrong one counts as a
// failed login, so a stolen session cannot be used to guess it). Every other session of u
// ends; keepToken's stays.
func (s *Service) ChangePassword(ctx context.Context, u User, keepToken, oldPassword, newPassword, source string) error {
	keys := []string{nameKey(u.Name)}
	defer s.gate.lock(keys...)()
	if key, until, err := s.lockedUntil(ctx, keys...); err != nil {
		return err
	} else if key != "" {
		return s.refuseLocked(ctx, u.Name, source, key, until)
	}
	_, hash, err := s.userWithHash(ctx, u.Name)
	if err != nil {
		return fmt.Errorf("change password of %s: %w", u.Name, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(oldPassword)) != nil {
		err := s.failLogin(ctx, u.Name, source, "wrong old password at password change")
		var re *Error
		if errors.As(err, &re) && re.Kind == Unauthorized {
			// Logged in all the same: a 400 on the field, not a 401 that sends them to log in.
			return invalid("old_password", "原密码错误", errors.New("wrong old password"))
		}
		return err
	}
	if oldPassword == newPassword {
		return invalid("new_password", "新密码不能与原密码相同", errors.New("new password equals the old one"))
	}
	newHash, err := hashPassword(u.Name, newPassword)
	if err != nil {
		var re *Error
		if errors.As(err, &re) {
			re.Field = "new_password"
		}
		return err
	}
	return s.setPassword(ctx, u.Name, u.Name, newHash, "password_change", tokenHash(keepToken), false)
}

// ResetPassword sets another user's password, for an admin whose scope covers them. It ends
// all of the user's sessions and lifts a lockout of their name.
func (s *Service) ResetPassword(ctx context.Context, actor User, name, password string) error {
	if !actor.Is(Admin) {
		return forbidden("只有管理员可以重置密码", "user %s (%s) may not reset passwords", actor.Name, actor.Role)
	}
	target, err := s.user(ctx, name)
	if err != nil {
		return err
	}
	if !covers(actor.Scope, target.Scope) {
		return s.outsideScope(actor, target.Scope)
	}
	hash, err := hashPassword(name, password)
	if err != nil {
		return err
	}
	return s.setPassword(ctx, actor.Name, name, hash, "password_reset", "", true)
}

func (s *Service) setPassword(ctx context.Context, actor, name, hash, action, keep string, unlock bool) error {
	var ended int64
	err := s.change(ctx, action, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash=?, password_changed_ms=? WHERE name=?`, hash, s.now().UnixMilli(), name); err != nil {
			return fmt.Errorf("%s %s: %w", action, name, err)
		}
		var err error
		if ended, err = endSessions(ctx, tx, name, keep); err != nil {
			return err
		}
		if err := clearNameFailures(ctx, tx, name, unlock); err != nil {
			return err
		}
		// Never the password or its hash: only that it changed, and what else it ended.
		return s.audit(ctx, tx, actor, action, "user:"+name, nil, map[string]any{"sessions_ended": ended, "unlocked": unlock})
	})
	if err == nil {
		s.log.Info("password changed", "user", name, "by", actor, "how", action, "sessions_ended", ended)
	}
	return err
}

// userIn is a user read in the transaction, or a NotFound error.
func (s *Service) userIn(ctx context.Context, tx *sql.Tx, name string) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name=?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &Error{Kind: NotFound, Message: "找不到该用户：" + trimName(name), Err: fmt.Errorf("no user %q", trimName(name))}
	}
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	return u, nil
}
