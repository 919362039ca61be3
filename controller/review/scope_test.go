package review

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"dalaba/controller/inventory"
	"dalaba/controller/store"
)

func TestParseScope(t *testing.T) {
	for _, ok := range []string{"town:361126104", "village:361126104201", "group:361126104201001", " village:361126104201 "} {
		if _, err := ParseScope(ok); err != nil {
			t.Errorf("ParseScope(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "terminal:t001", "town:36112610", "village:36112610420", "group:3611261042010011",
		"village:36112610420x", "county:361126", "361126104201"} {
		if a, err := ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q) = %v, want an error", bad, a)
		}
	}
}

func TestNewUserScope(t *testing.T) {
	s := newService(t, Options{})
	ctx := context.Background()
	admin := User{Name: "admin", Role: Admin}
	nu := func(name, scope string) NewUser {
		return NewUser{Name: name, Role: Editor, Password: "password-" + name, Scope: scope}
	}
	u, err := s.CreateUser(ctx, admin, nu("town1", ""))
	if err != nil || u.Scope != "town:361126104" || u.ScopeName != "曹溪镇" {
		t.Fatalf("default scope: %+v %v, want the inventory's town 曹溪镇", u, err)
	}
	if u, err = s.CreateUser(ctx, admin, nu("cun", " village:361126104201")); err != nil || u.Scope != "village:361126104201" {
		t.Fatalf("village scope: %+v %v", u, err)
	}
	for scope, want := range map[string]string{
		"village:361126104299": "不在终端清单中", // well formed, but no such village
		"town:361126105":       "不在终端清单中",
		"terminal:t001":        "广播范围须为",
		"village:12":           "广播范围须为",
	} {
		_, err := s.CreateUser(ctx, admin, nu("refused", scope))
		var e *Error
		if !errors.As(err, &e) || e.Kind != Invalid || e.Field != "scope" || !strings.Contains(e.Message, want) {
			t.Errorf("scope %q: %v, want a 400 on field scope saying %q", scope, err, want)
		}
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range users {
		got[u.Name] = u.Scope + " " + u.ScopeName
	}
	want := map[string]string{"admin": "town:361126104 曹溪镇", "town1": "town:361126104 曹溪镇", "cun": "village:361126104201 曹溪村"}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("user %s scope %q, want %q", n, got[n], w)
		}
	}
	// Scope travels with the session, where the API checks it.
	sess, err := s.Login(ctx, "cun", "password-cun")
	if err != nil {
		t.Fatal(err)
	}
	if au, err := s.Authenticate(ctx, sess.Token); err != nil || au.Scope != "village:361126104201" {
		t.Fatalf("authenticated %+v %v, want the village scope", au, err)
	}
}

// Users created before scopes existed get the inventory's town when the migration runs, and
// the audit log says so.
func TestExistingUsersGetTheTownScope(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.ApplyComponent(ctx, "review", migrations[:2]); err != nil { // the schema before scopes
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO users (name, display_name, role, password_hash, created_ms, created_by)
		VALUES ('old', '老用户', 'editor', 'x', 1, 'admin')`); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.ReadFile(filepath.Join("..", "..", "testdata", "caoxi-terminals.csv"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, db, Options{Inventory: func() *inventory.Inventory { return inv }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 1 || users[0].Scope != "town:361126104" {
		t.Fatalf("users %+v %v, want old with the town scope", users, err)
	}
	log, err := s.Audit(ctx, "user:old", 10)
	if err != nil || len(log) != 1 || log[0].Action != "user_scope" || !strings.Contains(string(log[0].After), "town:361126104") {
		t.Fatalf("audit %+v %v, want the default scope recorded", log, err)
	}
}

// On a site with two towns there is no default: the admin must name the scope.
func TestNoDefaultScopeWithTwoTowns(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inv := inventory.New([]inventory.Terminal{
		{ID: "a1", TownCode: "361126104", TownName: "曹溪镇", VillageCode: "361126104201", VillageName: "曹溪村", GroupCode: "361126104201001", GroupName: "杨家坪"},
		{ID: "b1", TownCode: "361126105", TownName: "石门镇", VillageCode: "361126105201", VillageName: "石门村", GroupCode: "361126105201001", GroupName: "上屋"},
	})
	s, err := New(ctx, db, Options{Inventory: func() *inventory.Inventory { return inv }, AdminPassword: "admin-password",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("the first admin must still be created: %v", err)
	}
	admin := User{Name: "admin", Role: Admin}
	_, err = s.CreateUser(ctx, admin, NewUser{Name: "li", Role: Editor, Password: "password-li"})
	if fieldOf(err) != "scope" {
		t.Fatalf("no scope on a two-town site: %v, want a 400 on field scope", err)
	}
	if u, err := s.CreateUser(ctx, admin, NewUser{Name: "li", Role: Editor, Password: "password-li", Scope: "town:361126105"}); err != nil || u.ScopeName != "石门镇" {
		t.Fatalf("explicit town scope: %+v %v", u, err)
	}
}
