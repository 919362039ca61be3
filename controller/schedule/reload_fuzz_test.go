package schedule

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"dalaba/controller/store"
)

// FuzzReload puts an arbitrary file in the schedules folder beside a good file that also
// changed, and reloads (what SIGHUP and POST /api/v1/schedules/reload do). It must never panic.
// A reload either applies both files, every schedule of the fuzzed file stored with that file's
// name and a walk that does not panic, or applies nothing: the stored set stays as it was, and
// every problem is a FileError naming the file and a line inside it, with a message for staff.
func FuzzReload(f *testing.F) {
	for _, name := range []string{"caoxi-morning.yaml", "caoxi-weekly.yaml", "caoxi-monthly.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "schedules", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("schedules:\n  - id: x\n    name: n\n    announcement: a\n    corn: \"30 7 * * *\"\n"))
	f.Add([]byte("schedules:\n  - id: morning\n    name: n\n    announcement: a\n    cron: \"@daily\"\n"))
	f.Add([]byte("schedules:\n  - {id: y, name: n, announcement: a, at: 2030-01-01 08:00, grace: 1h, to: [village:361126104201]}\n"))

	db, err := store.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	dir := f.TempDir()
	now := at(shanghai, 2025, 3, 10, 8, 0)
	r, err := New(context.Background(), Options{DB: db, Dir: dir, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler),
		Fire: func(context.Context, Slot) (string, error) { return "", errors.New("not in this test") }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(r.Stop)
	good, fuzzed := filepath.Join(dir, "a-good.yaml"), filepath.Join(dir, "b-fuzzed.yaml")
	ctx := context.Background()

	// The stored set with the good file alone; rebuilt only after a reload that applied.
	var before []Schedule
	dirty := true
	f.Fuzz(func(t *testing.T, in []byte) {
		write := func(path string, b []byte) {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if dirty {
			os.Remove(fuzzed)
			write(good, []byte(goodFile))
			if _, err := r.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			var err error
			if before, err = r.List(ctx); err != nil {
				t.Fatal(err)
			}
			dirty = false
		}
		write(good, []byte(strings.Replace(goodFile, "早间通知", "改过的名称", 1)))
		write(fuzzed, in)
		_, err := r.Reload(ctx)
		dirty = err == nil
		after, lerr := r.List(ctx)
		if lerr != nil {
			t.Fatal(lerr)
		}
		if err != nil {
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("reload failed (%v) but the stored schedules changed", err)
			}
			lines := len(yamlBreak.FindAllIndex(in, -1)) + 1 // as YAML (and editors) count them
			for _, e := range leafErrors(err) {
				var fe *FileError
				if !errors.As(e, &fe) {
					t.Fatalf("reload error is not a FileError: %v", e)
				}
				if fe.File != fuzzed && fe.File != good || fe.Message == "" || !strings.Contains(e.Error(), fe.File) {
					t.Fatalf("error %q: file %q, message %q", e, fe.File, fe.Message)
				}
				if fe.File == good {
					continue // the good file fails only for the fuzzed one's sake (an id defined twice)
				}
				if fe.Line < 1 || fe.Line > lines {
					t.Fatalf("error %q: line %d, the file has %d", e, fe.Line, lines)
				}
			}
			return
		}
		for _, s := range after {
			if s.ID == "morning" {
				if s.Name != "改过的名称" {
					t.Fatalf("good file not applied: %+v", s)
				}
				continue
			}
			if s.Source != SourceFile || s.File != fuzzed {
				t.Fatalf("schedule %s stored from %q (%s), want %s", s.ID, s.File, s.Source, fuzzed)
			}
			s.Next(now)
		}
	})
}

var yamlBreak = regexp.MustCompile("\r\n|\r|\n|\u0085|\u2028|\u2029")

// leafErrors unwraps errors.Join.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}
