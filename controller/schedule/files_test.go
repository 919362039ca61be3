package schedule

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func (g *rig) writeFile(name, body string) {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(g.files, name), []byte(body), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *rig) reload() (ReloadResult, error) { return g.r.Reload(context.Background()) }

func (g *rig) get(id string) Schedule {
	g.t.Helper()
	s, err := g.r.Get(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return s
}

const goodFile = `# good
schedules:
  - id: morning
    name: 早间通知
    announcement: caoxi-morning-notice
    to: village:361126104201
    cron: "30 7 * * *"
`

// Each bad file, put beside a good file that also changed, makes the reload fail naming the
// file, line and field, and leaves every stored schedule as it was.
func TestBadFilesApplyNothing(t *testing.T) {
	cases := []struct {
		name, body string
		line       int
		field      string
	}{
		{"unknown field", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    corn: \"30 7 * * *\"\n", 5, "corn"},
		{"missing cron and at", "schedules:\n  - id: x\n    name: n\n    announcement: a\n", 2, "cron"},
		{"both cron and at", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    cron: \"@daily\"\n    at: 2030-01-01 08:00\n", 5, "cron"},
		{"bad time zone", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    cron: \"@daily\"\n    timezone: Asia/Beijing\n", 6, "timezone"},
		{"bad grace", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    cron: \"@daily\"\n    grace: ten minutes\n", 6, "grace"},
		{"grace too long", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    cron: \"@daily\"\n    grace: 48h\n", 6, "grace"},
		{"bad cron", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    cron: \"30 7 * *\"\n", 5, "cron"},
		{"one-off in the past", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    at: 2020-01-01 08:00\n", 5, "at"},
		{"bad address", "schedules:\n  - id: x\n    name: n\n    announcement: a\n    to: county:1\n    cron: \"@daily\"\n", 5, "to"},
		{"id taken by another file", "schedules:\n  - id: morning\n    name: n\n    announcement: a\n    cron: \"@daily\"\n", 2, "id"},
		{"not YAML", "schedules:\n  - id: x\n    name: \"unclosed\n", 3, ""},
		{"two documents", "schedules: []\n---\nschedules: []\n", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newRig(t, at(shanghai, 2025, 3, 10, 8, 0))
			g.writeFile("a-good.yaml", goodFile)
			if _, err := g.reload(); err != nil {
				t.Fatal(err)
			}
			before := g.get("morning")
			g.writeFile("a-good.yaml", strings.Replace(goodFile, "早间通知", "改过的名称", 1))
			g.writeFile("b-bad.yaml", c.body)
			_, err := g.reload()
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("reload: %v, want a FileError", err)
			}
			if !strings.HasSuffix(fe.File, "b-bad.yaml") || fe.Field != c.field || (c.line > 0 && fe.Line != c.line) || fe.Message == "" {
				t.Fatalf("error %q: file %s line %d field %q, want b-bad.yaml line %d field %q", err, fe.File, fe.Line, fe.Field, c.line, c.field)
			}
			if !strings.Contains(err.Error(), "b-bad.yaml") {
				t.Fatalf("message does not name the file: %v", err)
			}
			list, _ := g.r.List(context.Background())
			if len(list) != 1 || g.get("morning").Name != before.Name || g.r.LoadError() == nil {
				t.Fatalf("something was applied: %+v", list)
			}
		})
	}
}

func TestReloadAddsChangesRemoves(t *testing.T) {
	ctx := context.Background()
	t0 := at(shanghai, 2025, 3, 10, 8, 0)
	g := newRig(t, t0)
	g.create(Def{ID: "from-api", Name: "接口", Announcement: "a", Cron: "@daily"})
	g.writeFile("a.yaml", goodFile)
	g.writeFile("b.yaml", "schedules:\n  - id: once\n    name: 单次\n    announcement: a\n    at: 2025-03-11 08:00\n  - id: weekly\n    name: 每周\n    announcement: a\n    to: [group:361126104201001, village:361126104202]\n    cron: \"0 19 * * MON\"\n    paused: true\n")
	res, err := g.reload()
	if err != nil || !slices.Equal(res.Added, []string{"morning", "once", "weekly"}) {
		t.Fatalf("first load: %+v %v", res, err)
	}
	if once := g.get("once"); !once.At.Equal(at(shanghai, 2025, 3, 11, 8, 0)) || once.Source != SourceFile {
		t.Fatalf("unquoted at read as %v", once.At)
	}
	if w := g.get("weekly"); !w.Paused || len(w.Targets) != 2 {
		t.Fatalf("weekly %+v", w)
	}

	// An hour on: a pause given over the API holds through a reload that does not touch it; a
	// changed cron restarts the walk; a one-off already behind us is not an error when known.
	g.clock.Set(t0.Add(25 * time.Hour))
	if _, err := g.r.Pause(ctx, "morning"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.r.Resume(ctx, "weekly"); err != nil {
		t.Fatal(err)
	}
	g.writeFile("b.yaml", "schedules:\n  - id: once\n    name: 单次\n    announcement: a\n    at: 2025-03-11 08:00\n  - id: weekly\n    name: 每周\n    announcement: a\n    to: [group:361126104201001, village:361126104202]\n    cron: \"0 20 * * MON\"\n    paused: true\n")
	res, err = g.reload()
	if err != nil || !slices.Equal(res.Changed, []string{"weekly"}) || !slices.Equal(res.Unchanged, []string{"morning", "once"}) {
		t.Fatalf("second load: %+v %v", res, err)
	}
	if !g.get("morning").Paused || g.get("weekly").Paused {
		t.Fatal("pause state given over the API was lost")
	}
	if w := g.get("weekly"); w.Cron != "0 20 * * MON" || !w.Since.Equal(g.clock.Now()) {
		t.Fatalf("retimed schedule %+v", w)
	}

	// The file changes its own paused value: the file wins. Removing a file removes its schedules.
	g.writeFile("a.yaml", strings.Replace(goodFile, `cron: "30 7 * * *"`, "cron: \"30 7 * * *\"\n    paused: false", 1))
	os.Remove(filepath.Join(g.files, "b.yaml"))
	if res, err = g.reload(); err != nil || !slices.Equal(res.Removed, []string{"once", "weekly"}) {
		t.Fatalf("third load: %+v %v", res, err)
	}
	// paused: false equals what the file said before (nothing): the API pause stays.
	list, _ := g.r.List(ctx)
	if len(list) != 2 || !g.get("morning").Paused || g.get("from-api").Source != SourceAPI {
		t.Fatalf("after removal: %+v", list)
	}
	g.writeFile("a.yaml", strings.Replace(goodFile, `cron: "30 7 * * *"`, "cron: \"30 7 * * *\"\n    paused: true", 1))
	g.reload()
	g.writeFile("a.yaml", goodFile)
	g.reload()
	if g.get("morning").Paused {
		t.Fatal("the file resumed the schedule, but it stayed paused")
	}
	if err := g.r.Delete(ctx, "morning"); !errors.Is(err, ErrFromFile) {
		t.Fatalf("delete a file schedule: %v", err)
	}
}

func TestCaoxiScheduleFiles(t *testing.T) {
	g := newRig(t, at(shanghai, 2025, 3, 10, 8, 0)) // a Monday
	g.r.dir = filepath.Join("..", "..", "schedules")
	res, err := g.reload()
	if err != nil || len(res.Files) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	want := map[string]struct {
		to   string
		next time.Time
	}{
		"caoxi-morning":      {"village:361126104201", at(shanghai, 2025, 3, 11, 7, 30)},
		"caoxi-monthly":      {"town:361126104", at(shanghai, 2025, 4, 1, 9, 0)},
		"yangjiaping-weekly": {"group:361126104201001", at(shanghai, 2025, 3, 10, 19, 0)},
	}
	for id, w := range want {
		s := g.get(id)
		if len(s.Targets) != 1 || s.Targets[0].String() != w.to || !s.Next(g.clock.Now()).Equal(w.next) || s.Location.String() != "Asia/Shanghai" {
			t.Errorf("%s: targets %v, next %v; want %s, %v", id, s.Targets, s.Next(g.clock.Now()), w.to, w.next)
		}
	}
}
