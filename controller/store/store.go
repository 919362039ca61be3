// Package store keeps the controller's durable state in an embedded SQLite database
// (modernc.org/sqlite, pure Go): inventory, programs, broadcasts and receipts.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is the controller's database.
type DB struct {
	*sql.DB
	lock *os.File
}

// Close closes the database and releases the data directory.
func (db *DB) Close() error {
	err := db.DB.Close()
	if db.lock != nil {
		db.lock.Close()
	}
	return err
}

// Open opens (creating if needed) the database in dir and applies the schema.
func Open(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "dalaba.db")
	// WAL lets the API read while receipts are written. synchronous=FULL syncs the WAL at every
	// commit: the API answers 201 only after the commit, and a power cut at the town hall (not
	// only kill -9, which NORMAL already survives) must not lose what was acknowledged; the
	// receipt writer batches, so this is one fsync per batch, not per report. busy_timeout rides
	// out the moments another writer holds the lock. _txlock=immediate begins every transaction
	// as a writer: a deferred one that reads and then writes fails at once with SQLITE_BUSY when
	// another connection commits in between, and busy_timeout cannot help it.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)" +
		"&_pragma=foreign_keys(ON)&_txlock=immediate"
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{DB: sqlDB, lock: lock}
	if err := db.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

// migrations are applied in order; the index of the last applied one is user_version.
var migrations = []string{
	`CREATE TABLE terminals (
		id            TEXT PRIMARY KEY,
		resource_code TEXT NOT NULL UNIQUE,
		town_code     TEXT NOT NULL,
		town_name     TEXT NOT NULL,
		village_code  TEXT NOT NULL,
		village_name  TEXT NOT NULL,
		group_code    TEXT NOT NULL,
		group_name    TEXT NOT NULL,
		latitude      REAL NOT NULL,
		longitude     REAL NOT NULL,
		last_seen_ms  INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE programs (
		id          TEXT PRIMARY KEY,  -- sha256 of the PCM
		bytes       INTEGER NOT NULL,
		source      TEXT NOT NULL,     -- what it was converted from, for the record
		created_ms  INTEGER NOT NULL
	);
	CREATE TABLE broadcasts (
		id              TEXT PRIMARY KEY,
		title           TEXT NOT NULL,
		targets         TEXT NOT NULL,  -- comma-separated addresses as given
		program_id      TEXT NOT NULL REFERENCES programs(id),
		priority        INTEGER NOT NULL,
		created_ms      INTEGER NOT NULL,
		valid_until_ms  INTEGER NOT NULL,
		state           TEXT NOT NULL,
		finished_ms     INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE receipts (
		broadcast_id  TEXT NOT NULL REFERENCES broadcasts(id),
		terminal_id   TEXT NOT NULL,
		village_code  TEXT NOT NULL,
		state         TEXT NOT NULL,
		reason        TEXT NOT NULL DEFAULT '',
		detail        TEXT NOT NULL DEFAULT '',
		updated_ms    INTEGER NOT NULL,
		received_ms   INTEGER NOT NULL DEFAULT 0,
		fetched_ms    INTEGER NOT NULL DEFAULT 0,
		playing_ms    INTEGER NOT NULL DEFAULT 0,
		done_ms       INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (broadcast_id, terminal_id)
	);`,
	// Proof of play: what each terminal actually put out, and how long the program is.
	`ALTER TABLE broadcasts ADD COLUMN program_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE receipts ADD COLUMN played_bytes INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE receipts ADD COLUMN played_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE receipts ADD COLUMN peak REAL NOT NULL DEFAULT 0;
	ALTER TABLE receipts ADD COLUMN rms REAL NOT NULL DEFAULT 0;
	ALTER TABLE receipts ADD COLUMN volume INTEGER NOT NULL DEFAULT -1;
	ALTER TABLE receipts ADD COLUMN play_start_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE receipts ADD COLUMN play_end_ms INTEGER NOT NULL DEFAULT 0;`,
	// Terminal events: faults raised and recovered, offline and back online.
	`CREATE TABLE terminal_events (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		terminal_id  TEXT NOT NULL,
		kind         TEXT NOT NULL,     -- a fault name, or "offline"
		active       INTEGER NOT NULL,  -- 1 raised / went offline, 0 recovered / back online
		detail       TEXT NOT NULL DEFAULT '',
		at_ms        INTEGER NOT NULL,  -- when it happened, by the terminal's clock for faults
		received_ms  INTEGER NOT NULL   -- when the controller learned of it
	);
	CREATE INDEX terminal_events_by_terminal ON terminal_events (terminal_id, id);`,
	// Priorities, emergencies, synchronised start, live shouts and cancels.
	`ALTER TABLE broadcasts ADD COLUMN severity INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE broadcasts ADD COLUMN repeat INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE broadcasts ADD COLUMN repeat_interval_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE broadcasts ADD COLUMN end_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE broadcasts ADD COLUMN forced_volume INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE broadcasts ADD COLUMN play_at_us INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE broadcasts ADD COLUMN live_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE broadcasts ADD COLUMN cancelled_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE broadcasts ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';`,
	// How late each terminal started a synchronised program, and live frames it concealed.
	`ALTER TABLE receipts ADD COLUMN late_us INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE receipts ADD COLUMN frames_concealed INTEGER NOT NULL DEFAULT 0;`,
}

func (db *DB) migrate(ctx context.Context) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	for i := version; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
