package review

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a staff user may do.
type Role string

const (
	Editor   Role = "editor"   // drafts and submits announcements (撰稿人)
	Reviewer Role = "reviewer" // approves or rejects others' announcements (审核人)
	Admin    Role = "admin"    // manages users; may also review (管理员)
)

// Name is the role in Chinese.
func (r Role) Name() string {
	switch r {
	case Editor:
		return "撰稿人"
	case Reviewer:
		return "审核人"
	case Admin:
		return "管理员"
	}
	return string(r)
}

// User is a staff account.
type User struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Role        Role      `json:"role"`
	Scope       string    `json:"scope"`                // the place their emergencies and shouts may reach: town:, village: or group: code
	ScopeName   string    `json:"scope_name,omitempty"` // that place's name, filled in for display
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	Disabled    bool      `json:"disabled"` // may not log in; their sessions ended when disabled
	DisabledAt  time.Time `json:"disabled_at,omitzero"`
}

// userColumns are what scanUser reads, in order.
const userColumns = `u.name, u.display_name, u.role, u.scope, u.created_ms, u.created_by, u.disabled_ms`

func scanUser(row scanner, extra ...any) (User, error) {
	var u User
	var created, disabled int64
	err := row.Scan(append([]any{&u.Name, &u.DisplayName, &u.Role, &u.Scope, &created, &u.CreatedBy, &disabled}, extra...)...)
	u.CreatedAt, u.Disabled, u.DisabledAt = time.UnixMilli(created), disabled != 0, msTime(disabled)
	return u, err
}

// Is reports whether the user has one of the roles.
func (u User) Is(roles ...Role) bool {
	for _, r := range roles {
		if u.Role == r {
			return true
		}
	}
	return false
}

// NewUser is a user as an admin creates one.
type NewUser struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Role        Role   `json:"role"`
	Password    string `json:"password"`
	Scope       string `json:"scope"` // empty: the town of the inventory
}

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$`)

// CreateUser adds a staff user; only an admin may.
func (s *Service) CreateUser(ctx context.Context, actor User, in NewUser) (User, error) {
	return s.createUser(ctx, actor, in, false)
}

// createUser adds a user; scopeOptional lets the first admin exist on a site without a single
// town (their scope stays empty until one is set).
func (s *Service) createUser(ctx context.Context, actor User, in NewUser, scopeOptional bool) (User, error) {
	if !actor.Is(Admin) {
		return User{}, forbidden("只有管理员可以添加用户", "user %s (%s) may not create users", actor.Name, actor.Role)
	}
	in.Name, in.DisplayName = strings.TrimSpace(in.Name), strings.TrimSpace(in.DisplayName)
	switch {
	case !userName.MatchString(in.Name):
		return User{}, invalid("name", "用户名须为 2-32 个字母、数字、下划线、点或连字符", fmt.Errorf("user name %q", in.Name))
	case utf8.RuneCountInString(in.DisplayName) > 50:
		return User{}, invalid("display_name", "姓名不能超过 50 个字", errors.New("display name too long"))
	case !validRole(in.Role):
		return User{}, invalid("role", "角色须为 editor（撰稿）、reviewer（审核）或 admin（管理员）", fmt.Errorf("unknown role %q", in.Role))
	}
	if in.DisplayName == "" {
		in.DisplayName = in.Name
	}
	scope, err := s.newUserScope(strings.TrimSpace(in.Scope), scopeOptional)
	if err != nil {
		return User{}, err
	}
	if !covers(actor.Scope, scope) {
		return User{}, s.outsideScope(actor, scope)
	}
	// A name taken is the answer, whatever the password (checked again in the transaction).
	if _, err := s.user(ctx, in.Name); err == nil {
		return User{}, conflict("用户名已存在："+in.Name, fmt.Errorf("user %s exists", in.Name))
	}
	hash, err := hashPassword(in.Name, in.Password)
	if err != nil {
		return User{}, err
	}
	u := User{Name: in.Name, DisplayName: in.DisplayName, Role: in.Role, Scope: scope, CreatedAt: s.now(), CreatedBy: actor.Name}
	err = s.change(ctx, "create user", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name=?`, u.Name).Scan(&n); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if n > 0 {
			return conflict("用户名已存在："+u.Name, fmt.Errorf("user %s exists", u.Name))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (name, display_name, role, password_hash, created_ms, created_by, scope, password_changed_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.Name, u.DisplayName, u.Role, hash, u.CreatedAt.UnixMilli(), u.CreatedBy, u.Scope, u.CreatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("create user %s: %w", u.Name, err)
		}
		return s.audit(ctx, tx, actor.Name, "user_create", "user:"+u.Name, nil, u)
	})
	u.ScopeName = s.ScopeName(u.Scope)
	return u, err
}

// newUserScope is the scope a new user gets: the one asked for, if the inventory has that
// place, else the inventory's town.
func (s *Service) newUserScope(scope string, optional bool) (string, error) {
	if scope != "" {
		return s.validScope(scope)
	}
	if def := s.defaultScope(); def != "" || optional {
		return def, nil
	}
	return "", invalid("scope", "终端清单中没有唯一的乡镇，请指定账号的广播范围（"+scopeHint+"）",
		errors.New("no scope given, and the inventory has no single town to default to"))
}

func validRole(r Role) bool { return r == Editor || r == Reviewer || r == Admin }

// Users lists every staff user by name.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		u.ScopeName = s.ScopeName(u.Scope)
		out = append(out, u)
	}
	return out, rows.Err()
}

// bootstrap creates user admin on a store without users, so a fresh install can be claimed:
// with the configured password, or with a generated one logged once.
func (s *Service) bootstrap(ctx context.Context, password string) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		if password != "" {
			s.log.Info("admin password option ignored: users exist already")
		}
		return nil
	}
	generated := password == ""
	for generated && kinds(password) < 2 {
		password = rand.Text() // 26 base32 characters, 130 bits; again in the rare draw without a digit
	}
	system := User{Name: "system", Role: Admin}
	if _, err := s.createUser(ctx, system, NewUser{Name: "admin", DisplayName: "管理员", Role: Admin, Password: password}, true); err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	if generated {
		s.log.Warn("no users yet: created user admin with a generated password; log in with it and add staff",
			"user", "admin", "password", password)
	} else {
		s.log.Info("no users yet: created user admin with the configured password", "user", "admin")
	}
	return nil
}
