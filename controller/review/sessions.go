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
// as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("dalaba-no-such-user"), bcryptCost) // fails only on a bad cost
	return h
})

var errBadLogin = &Error{Kind: Unauthorized, Message: "用户名或密码错误", Err: errors.New("wrong user name or password")}

// Login checks a password and opens a session.
func (s *Service) Login(ctx context.Context, name, password string) (Session, error) {
	var u User
	var hash string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT name, display_name, role, scope, created_ms, created_by, password_hash
		FROM users WHERE name=?`, name).Scan(&u.Name, &u.DisplayName, &u.Role, &u.Scope, &created, &u.CreatedBy, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return Session{}, s.loginFailed(ctx, name, "no such user")
	}
	if err != nil {
		return Session{}, fmt.Errorf("login %s: %w", name, err)
	}
	u.CreatedAt = time.UnixMilli(created)
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Session{}, s.loginFailed(ctx, name, "wrong password")
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
		return s.audit(ctx, tx, u.Name, "login", "user:"+u.Name, nil, map[string]any{"role": u.Role, "expires_at": sess.ExpiresAt})
	})
	if err != nil {
		return Session{}, err
	}
	s.log.Info("login", "user", u.Name, "role", u.Role)
	return sess, nil
}

func (s *Service) loginFailed(ctx context.Context, name, why string) error {
	if len(name) > 64 {
		name = name[:64]
	}
	s.log.Warn("login failed", "user", name, "why", why)
	err := s.change(ctx, "login", func(tx *sql.Tx) error {
		return s.audit(ctx, tx, name, "login_failed", "user:"+name, nil, map[string]string{"why": why})
	})
	if err != nil {
		return err
	}
	return errBadLogin
}

// Authenticate finds the user of a session token that has not expired.
func (s *Service) Authenticate(ctx context.Context, token string) (User, error) {
	var u User
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT u.name, u.display_name, u.role, u.scope, u.created_ms, u.created_by
		FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_sha256=? AND s.expires_ms > ?`,
		tokenHash(token), s.now().UnixMilli()).Scan(&u.Name, &u.DisplayName, &u.Role, &u.Scope, &created, &u.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &Error{Kind: Unauthorized, Message: "登录已过期或无效，请重新登录", Err: errors.New("unknown or expired session token")}
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	u.CreatedAt = time.UnixMilli(created)
	return u, nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
