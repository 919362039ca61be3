package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Lockout: a name that fails to log in too often in a window is locked for a while, and so is
// an address that fails too often whatever the names (so one cannot try one password on many
// names). Names that do not exist are counted and locked the same way, so a lockout does not
// tell which names exist. Failures and locks are in the store: a restart does not reset them.

// LockoutPolicy says how many failures lock what for how long. Zero values take the defaults.
type LockoutPolicy struct {
	NameFailures   int           // failures of one name within Window that lock it: 5
	SourceFailures int           // failures from one address within Window that lock it: 20
	Window         time.Duration // 15 min
	LockFor        time.Duration // 15 min
}

func (p LockoutPolicy) withDefaults() LockoutPolicy {
	if p.NameFailures <= 0 {
		p.NameFailures = 5
	}
	if p.SourceFailures <= 0 {
		p.SourceFailures = 20
	}
	if p.Window <= 0 {
		p.Window = 15 * time.Minute
	}
	if p.LockFor <= 0 {
		p.LockFor = 15 * time.Minute
	}
	return p
}

const maxLoggedName = 64 // a name as typed is kept at most this long in failures and the audit

func nameKey(name string) string {
	if len(name) > maxLoggedName {
		name = name[:maxLoggedName]
	}
	return "name:" + name
}

func sourceKey(source string) string { return "source:" + source }

// lockedError is the refusal while a key is locked.
func lockedError(key string, until, now time.Time) *Error {
	when := until.Local().Format("15:04:05")
	if until.Local().Format(time.DateOnly) != now.Local().Format(time.DateOnly) {
		when = until.Local().Format("2006-01-02 15:04:05")
	}
	mins := max(1, int(until.Sub(now).Round(time.Minute)/time.Minute))
	if addr, ok := strings.CutPrefix(key, "source:"); ok {
		return &Error{Kind: TooManyAttempts, RetryAt: until,
			Message: fmt.Sprintf("此地址登录失败次数过多，已暂停登录，请于 %s 后再试（约 %d 分钟）", when, mins),
			Err:     fmt.Errorf("too many failed logins from %s: locked until %s", addr, until.Format(time.RFC3339))}
	}
	return &Error{Kind: Locked, RetryAt: until,
		Message: fmt.Sprintf("登录失败次数过多，账号已锁定，请于 %s 后再试（约 %d 分钟），或请管理员重置密码", when, mins),
		Err:     fmt.Errorf("too many failed logins for %s: locked until %s", key, until.Format(time.RFC3339))}
}

// lockedUntil is the latest lock among keys still in force, and its key.
func (s *Service) lockedUntil(ctx context.Context, keys ...string) (string, time.Time, error) {
	now := s.now().UnixMilli()
	var key string
	var until int64
	for _, k := range keys {
		var u int64
		err := s.db.QueryRowContext(ctx, `SELECT until_ms FROM login_locks WHERE key=? AND until_ms > ?`, k, now).Scan(&u)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", time.Time{}, fmt.Errorf("login lock %s: %w", k, err)
		}
		if u > until {
			key, until = k, u
		}
	}
	if key == "" {
		return "", time.Time{}, nil
	}
	return key, time.UnixMilli(until), nil
}

// refuseLocked audits an attempt while locked and returns the refusal.
func (s *Service) refuseLocked(ctx context.Context, name, source, key string, until time.Time) error {
	s.log.Warn("login refused: locked", "user", trimName(name), "source", source, "lock", key, "until", until)
	err := s.change(ctx, "login", func(tx *sql.Tx) error {
		return s.audit(ctx, tx, trimName(name), "login_locked", "user:"+trimName(name), nil,
			map[string]any{"source": source, "lock": key, "until": until})
	})
	if err != nil {
		return err
	}
	return lockedError(key, until, s.now())
}

// failLogin records a failed login of name from source, locks the name or the address when
// this failure reaches the limit, and returns the refusal: a wrong name or password, or the
// lock this failure started.
func (s *Service) failLogin(ctx context.Context, name, source, why string) error {
	name = trimName(name)
	s.log.Warn("login failed", "user", name, "source", source, "why", why)
	now := s.now()
	since := now.Add(-s.lockout.Window).UnixMilli()
	var locked []string
	err := s.change(ctx, "login", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at_ms <= ?`, since); err != nil {
			return fmt.Errorf("prune login failures: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_locks WHERE until_ms <= ?`, now.UnixMilli()); err != nil {
			return fmt.Errorf("prune login locks: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (at_ms, name, source) VALUES (?, ?, ?)`, now.UnixMilli(), name, source); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		if err := s.audit(ctx, tx, name, "login_failed", "user:"+name, nil, map[string]string{"why": why, "source": source}); err != nil {
			return err
		}
		checks := []struct {
			key, column, value string
			limit              int
		}{{nameKey(name), "name", name, s.lockout.NameFailures}, {sourceKey(source), "source", source, s.lockout.SourceFailures}}
		for _, c := range checks {
			if c.value == "" && c.column == "source" {
				continue // no address (a caller inside the controller): only the name counts
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures WHERE `+c.column+`=? AND at_ms > ?`, c.value, since).Scan(&n); err != nil {
				return fmt.Errorf("count login failures: %w", err)
			}
			if n < c.limit {
				continue
			}
			until := now.Add(s.lockout.LockFor)
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_locks (key, until_ms) VALUES (?, ?)
				ON CONFLICT(key) DO UPDATE SET until_ms=excluded.until_ms`, c.key, until.UnixMilli()); err != nil {
				return fmt.Errorf("lock %s: %w", c.key, err)
			}
			// The count starts again once the lock ends.
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE `+c.column+`=?`, c.value); err != nil {
				return fmt.Errorf("lock %s: %w", c.key, err)
			}
			object := "user:" + name
			if c.column == "source" {
				object = "source:" + source
			}
			if err := s.audit(ctx, tx, name, "login_lockout", object, nil, map[string]any{"lock": c.key, "failures": n,
				"window": s.lockout.Window.String(), "until": until, "source": source}); err != nil {
				return err
			}
			locked = append(locked, c.key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(locked) > 0 {
		s.log.Warn("login locked", "locks", locked, "for", s.lockout.LockFor)
		// The address lock answers first: it stops every name from there.
		return lockedError(locked[len(locked)-1], now.Add(s.lockout.LockFor), now)
	}
	return errBadLogin
}

// clearNameFailures forgets a name's failures after it logs in or an admin resets its password
// (which also lifts its lock).
func clearNameFailures(ctx context.Context, tx *sql.Tx, name string, unlock bool) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE name=?`, trimName(name)); err != nil {
		return fmt.Errorf("clear login failures of %s: %w", name, err)
	}
	if unlock {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_locks WHERE key=?`, nameKey(name)); err != nil {
			return fmt.Errorf("unlock %s: %w", name, err)
		}
	}
	return nil
}

func trimName(name string) string {
	if len(name) > maxLoggedName {
		return name[:maxLoggedName]
	}
	return name
}

// gate serialises login attempts per key, so that parallel guesses cannot all pass the lock
// check before the first failure is counted.
type gate struct {
	mu   sync.Mutex
	keys map[string]*gateKey
}

type gateKey struct {
	mu    sync.Mutex
	users int
}

// lock takes every key in order and returns the function that releases them.
func (g *gate) lock(keys ...string) func() {
	held := make([]*gateKey, 0, len(keys))
	for _, k := range keys {
		g.mu.Lock()
		if g.keys == nil {
			g.keys = map[string]*gateKey{}
		}
		e := g.keys[k]
		if e == nil {
			e = &gateKey{}
			g.keys[k] = e
		}
		e.users++
		g.mu.Unlock()
		e.mu.Lock()
		held = append(held, e)
	}
	return func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i].mu.Unlock()
			g.mu.Lock()
			held[i].users--
			if held[i].users == 0 {
				delete(g.keys, keys[i])
			}
			g.mu.Unlock()
		}
	}
}
