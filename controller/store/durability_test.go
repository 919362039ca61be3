package store

import (
	"context"
	"database/sql"
	"testing"
)

// Every connection of the pool (the settings are per connection) is in WAL mode, syncs at each
// commit and waits for a busy lock; transactions begin as writers.
func TestEveryConnectionIsDurable(t *testing.T) {
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 3 { // each held, so the next is a new connection
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		var mode string
		var sync, busy int
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync)
		conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy)
		if mode != "wal" || sync != 2 || busy != 5000 {
			t.Errorf("connection %d: journal_mode %s, synchronous %d, busy_timeout %d; want wal, 2 (FULL), 5000", i, mode, sync, busy)
		}
	}

	// A transaction that has only read already holds the write lock (BEGIN IMMEDIATE): another
	// writer waits for it rather than slipping in between its read and its write.
	tx, err := conns[0].BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if _, err := conns[1].ExecContext(ctx, "PRAGMA busy_timeout = 50"); err != nil {
		t.Fatal(err)
	}
	if _, err := conns[1].ExecContext(ctx, "CREATE TABLE other_writer (n INTEGER)"); err == nil {
		t.Fatal("another connection wrote while a transaction that had only read was open: transactions begin deferred")
	}
}
