package schedule

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Schedules created over the API while other parts of the controller write the same store
// (receipts, presence, the audit log) all go in. Create reads (is the id taken?) then writes in
// one transaction; begun deferred, such a transaction fails at once with SQLITE_BUSY when
// another writer commits between its read and its write, whatever busy_timeout says (the bug
// FuzzAPI once hit). The store begins every transaction IMMEDIATE, so this waits instead.
func TestConcurrentCreatesWithOtherWriters(t *testing.T) {
	g := newRig(t, time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	if _, err := g.db.ExecContext(ctx, `CREATE TABLE other_writer (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := range 4 { // stand-ins for the receipt writer, presence and the audit log
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := g.db.ExecContext(ctx, `INSERT INTO other_writer VALUES (?)`, w*1_000_000+i); err != nil {
					t.Errorf("other writer: %v", err)
					return
				}
			}
		}()
	}
	const creators, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, creators*each)
	for c := range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("c%d-%d", c, i)
				if _, err := g.r.Create(ctx, Def{ID: id, Name: "并发", Announcement: "a", Cron: "@daily"}); err != nil {
					errs <- fmt.Errorf("create %s: %w", id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	writers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := g.r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != creators*each {
		t.Fatalf("%d schedules stored, want %d", len(list), creators*each)
	}
}
