package review

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Session is a login: a random bearer token that expires.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// dummyHash is compared against when the user does not exist, so a wrong name takes as long
// as a wrong password (the same cost as every stored hash).
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("dalaba-no-such-user"), bcryptCost) // fails only on a bad cost
	return h
})

var errBadLogin = &Error{Kind: Unauthorized, Message: "用户名或密码错误", Err: errors.New("wrong user name or password")}

var errDisabled = &Error{Kind: Forbidden, Message: "账号已停用，请联系管理员", Err: errors.New("user is disabled")}

// Login checks a password and opens a session, for a caller without an address (tests, tools
// inside the controller): only the name's failures count towards a lockout.
func (s *Service) Login(ctx context.Context, name, password string) (Session, error) {
	return s.LoginFrom(ctx, name, password, "")
}

// LoginFrom checks a password given from source (the client's IP address) and opens a session.
// A name or an address locked by too many failures is refused before the password is looked
// at (Locked, TooManyAttempts); a failure is counted, audited and may start a lock; a disabled
// user with the right password is refused (Forbidden). A success forgets the name's failures.
func (s *Service) LoginFrom(ctx context.Context, name, password, source string) (Session, error) {
	keys := []string{nameKey(name)}
	if source != "" {
		keys = []string{sourceKey(source), nameKey(name)}
	}
	defer s.gate.lock(keys...)()
	if key, until, err := s.lockedUntil(ctx, keys...); err != nil {
		return Session{}, err
	} else if key != "" {
		return Session{}, s.refuseLocked(ctx, name, source, key, until)
	}
	u, hash, err := s.userWithHash(ctx, name)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return Session{}, s.failLogin(ctx, name, source, "no such user")
	}
	if err != nil {
		return Session{}, fmt.Errorf("login %s: %w", name, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Session{}, s.failLogin(ctx, name, source, "wrong password")
	}
	if u.Disabled {
		s.log.Warn("login refused: user disabled", "user", u.Name, "source", source)
		err := s.change(ctx, "login", func(tx *sql.Tx) error {
			return s.audit(ctx, tx, u.Name, "login_refused", "user:"+u.Name, nil, map[string]string{"why": "disabled", "source": source})
		})
		if err != nil {
			return Session{}, err
		}
		return Session{}, errDisabled
	}
	token := rand.Text() + rand.Text() // 260 bits
	now := s.now()
	sess := Session{Token: token, ExpiresAt: now.Add(s.ttl), User: u}
	err = s.change(ctx, "login", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_ms <= ?`, now.UnixMilli()); err != nil {
			return fmt.Errorf("login %s: expire sessions: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_sha256, user_name, created_ms, expires_ms) VALUES (?, ?, ?, ?)`,
			tokenHash(token), u.Name, now.UnixMilli(), sess.ExpiresAt.UnixMilli()); err != nil {
			return fmt.Errorf("login %s: %w", name, err)
		}
		if err := clearNameFailures(ctx, tx, u.Name, false); err != nil {
			return err
		}
		details := map[string]any{"role": u.Role, "expires_at": sess.ExpiresAt}
		if source != "" {
			details["source"] = source
		}
		return s.audit(ctx, tx, u.Name, "login", "user:"+u.Name, nil, details)
	})
	if err != nil {
		return Session{}, err
	}
	s.log.Info("login", "user", u.Name, "role", u.Role, "source", source)
	return sess, nil
}

// userWithHash is a user and their password hash; sql.ErrNoRows when there is none.
func (s *Service) userWithHash(ctx context.Context, name string) (User, string, error) {
	var hash string
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.name=?`, name), &hash)
	return u, hash, err
}

// user is one staff user, or a NotFound error.
func (s *Service) user(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name=?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &Error{Kind: NotFound, Message: "找不到该用户：" + trimName(name), Err: fmt.Errorf("no user %q", trimName(name))}
	}
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	u.ScopeName = s.ScopeName(u.Scope)
	return u, nil
}

// Authenticate finds the active user of a session token that has not expired.
func (s *Service) Authenticate(ctx context.Context, token string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`
		FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_sha256=? AND s.expires_ms > ? AND u.disabled_ms = 0`,
		tokenHash(token), s.now().UnixMilli()))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &Error{Kind: Unauthorized, Message: "登录已过期或无效，请重新登录", Err: errors.New("unknown or expired session token")}
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	return u, nil
}

// Logout ends the session of token, which u presented.
func (s *Service) Logout(ctx context.Context, u User, token string) error {
	return s.change(ctx, "logout", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_sha256=? AND user_name=?`, tokenHash(token), u.Name)
		if err != nil {
			return fmt.Errorf("logout %s: %w", u.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &Error{Kind: Unauthorized, Message: "登录已过期或无效，请重新登录", Err: errors.New("no such session")}
		}
		return s.audit(ctx, tx, u.Name, "logout", "user:"+u.Name, nil, nil)
	})
}

// endSessions ends every session of name but keep (a token hash; "" ends them all) and
// returns how many ended.
func endSessions(ctx context.Context, tx *sql.Tx, name, keep string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_name=? AND token_sha256 <> ?`, name, keep)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
