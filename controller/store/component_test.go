package store

import (
	"context"
	"errors"
	"testing"
)

func TestApplyComponentRunsEachMigrationOnce(t *testing.T) {
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	v1 := []string{`CREATE TABLE a (x INTEGER)`}
	if err := db.ApplyComponent(ctx, "demo", v1); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyComponent(ctx, "demo", append(v1, `ALTER TABLE a ADD COLUMN y INTEGER`)); err != nil {
		t.Fatalf("second version: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO a (x, y) VALUES (1, 2)`); err != nil {
		t.Fatalf("both migrations applied: %v", err)
	}
	// A failing migration leaves the component at its last good version.
	bad := append(v1, `ALTER TABLE a ADD COLUMN y INTEGER`, `NOT SQL`)
	if err := db.ApplyComponent(ctx, "demo", bad); err == nil {
		t.Fatal("a broken migration was accepted")
	}
	var v int
	db.QueryRow(`SELECT version FROM component_versions WHERE component='demo'`).Scan(&v)
	if v != 2 {
		t.Fatalf("version %d after a failed migration, want 2", v)
	}
}

func TestSecondOpenOfADataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	db.Close()
	again, err := Open(dir)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	again.Close()
}
