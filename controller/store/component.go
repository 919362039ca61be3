package store

import (
	"context"
	"fmt"
)

// ApplyComponent applies a component's own migrations (a package such as review or schedule
// that owns its tables), in order, each once, recording progress per component. Components
// evolve their schemas independently of each other and of the core migrations.
func (db *DB) ApplyComponent(ctx context.Context, component string, migrations []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS component_versions (
		component TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	var version int
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM component_versions WHERE component=?`, component).Scan(&version)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	for i := version; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", component, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s to %d: %w", component, i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO component_versions (component, version) VALUES (?, ?)
			ON CONFLICT(component) DO UPDATE SET version=excluded.version`, component, i+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", component, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", component, err)
		}
	}
	return nil
}
