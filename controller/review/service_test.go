package review

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"dalaba/controller/inventory"
	"dalaba/controller/store"
)

// newService opens a store in a temporary directory with the Caoxi inventory.
func newService(t *testing.T, opts Options) *Service {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	inv, err := inventory.ReadFile(filepath.Join("..", "..", "testdata", "caoxi-terminals.csv"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Inventory = func() *inventory.Inventory { return inv }
	if opts.AdminPassword == "" {
		opts.AdminPassword = "admin-password"
	}
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func input(voice string) Input {
	return Input{Title: ptr("停水通知"), Category: ptr("service"), Domain: ptr("村务"), Text: ptr("明天上午停水。"),
		Targets: ptr("village:361126104201"), Voice: ptr(voice)}
}

func fieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind == Invalid {
		return e.Field
	}
	return ""
}

func TestVoiceHookAndProgramID(t *testing.T) {
	s := newService(t, Options{})
	ctx := context.Background()
	admin := User{Name: "admin", Role: Admin}
	if _, err := s.Create(ctx, admin, input("any-voice")); err != nil {
		t.Fatalf("no hook: %v", err)
	}
	var asked []string
	s.ValidateVoice = func(v string) error {
		asked = append(asked, v)
		if v != "xiaoyan" {
			return errors.New("unknown voice")
		}
		return nil
	}
	if _, err := s.Create(ctx, admin, input("robot")); fieldOf(err) != "voice" {
		t.Fatalf("unknown voice: %v", err)
	}
	if _, err := s.Create(ctx, admin, input("xiaoyan")); err != nil {
		t.Fatalf("known voice: %v", err)
	}
	if _, err := s.Create(ctx, admin, input("")); err != nil || len(asked) != 2 {
		t.Fatalf("no voice (the default): %v; hook asked %v", err, asked)
	}
	in := input("xiaoyan")
	in.Text, in.ProgramID = ptr(""), ptr("no-such-program")
	if _, err := s.Create(ctx, admin, in); fieldOf(err) != "program_id" {
		t.Fatalf("unknown program: %v", err)
	}
}

func TestTermsFileAndShortAdminPassword(t *testing.T) {
	terms := filepath.Join(t.TempDir(), "terms.txt")
	writeTestFile(t, terms, "停水\n")
	s := newService(t, Options{SensitiveTermsFile: terms})
	ctx := context.Background()
	a, err := s.Create(ctx, User{Name: "admin", Role: Admin}, input(""))
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.Submit(ctx, User{Name: "admin", Role: Admin}, a.ID); err != nil {
		t.Fatal(err)
	}
	if len(a.Flags) != 2 || a.Flags[0].Field != "title" || a.Flags[1].Field != "text" || a.Flags[1].ID != "F2" {
		t.Fatalf("flags %+v", a.Flags)
	}

	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := New(ctx, db, Options{AdminPassword: "short", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
		t.Fatal("a 5-character admin password was accepted")
	}
}
