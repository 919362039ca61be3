package inventory

import (
	"context"
	"fmt"

	"dalaba/controller/store"
)

// Save replaces the stored inventory with inv in one transaction: it applies whole or not at all.
// Terminals that stay keep their last-seen time.
func Save(ctx context.Context, db *store.DB, inv *Inventory) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS keep(id TEXT PRIMARY KEY); DELETE FROM keep;`); err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	for _, t := range inv.terminals {
		if _, err := tx.ExecContext(ctx, `INSERT INTO keep(id) VALUES (?)`, t.ID); err != nil {
			return fmt.Errorf("save inventory: %w", err)
		}
	}
	// Drop terminals the new inventory no longer has first, so a resource code can move
	// from a removed terminal to a new one.
	if _, err := tx.ExecContext(ctx, `DELETE FROM terminals WHERE id NOT IN (SELECT id FROM keep)`); err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE terminals SET resource_code = 'moving-' || id`); err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO terminals
		(id, resource_code, town_code, town_name, village_code, village_name, group_code, group_name, latitude, longitude)
		VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET resource_code=excluded.resource_code, town_code=excluded.town_code,
		town_name=excluded.town_name, village_code=excluded.village_code, village_name=excluded.village_name,
		group_code=excluded.group_code, group_name=excluded.group_name, latitude=excluded.latitude,
		longitude=excluded.longitude`)
	if err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	defer stmt.Close()
	for _, t := range inv.terminals {
		if _, err := stmt.ExecContext(ctx, t.ID, t.ResourceCode, t.TownCode, t.TownName, t.VillageCode,
			t.VillageName, t.GroupCode, t.GroupName, t.Latitude, t.Longitude); err != nil {
			return fmt.Errorf("save inventory: terminal %s: %w", t.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	return nil
}

// Load reads the stored inventory.
func Load(ctx context.Context, db *store.DB) (*Inventory, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, resource_code, town_code, town_name, village_code,
		village_name, group_code, group_name, latitude, longitude FROM terminals`)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	defer rows.Close()
	var ts []Terminal
	for rows.Next() {
		var t Terminal
		if err := rows.Scan(&t.ID, &t.ResourceCode, &t.TownCode, &t.TownName, &t.VillageCode,
			&t.VillageName, &t.GroupCode, &t.GroupName, &t.Latitude, &t.Longitude); err != nil {
			return nil, fmt.Errorf("load inventory: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	return New(ts), nil
}
