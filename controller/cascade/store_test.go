package cascade

import (
	"context"
	"errors"
	"testing"
	"time"

	"dalaba/controller/store"
)

// A replay is refused after a restart too: the envelopes seen are in the store.
func TestReplayRefusedAcrossRestart(t *testing.T) {
	dir, ctx := t.TempDir(), context.Background()
	open := func() *store.DB {
		db, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	id := NewEBDID("010336112600000000", 42)
	if err := claimEnvelope(ctx, db, id, "county", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := claimEnvelope(ctx, db, id, "county", time.Now()); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second claim: %v, want ErrReplayed", err)
	}
	db.Close()
	db = open()
	defer db.Close()
	if err := claimEnvelope(ctx, db, id, "county", time.Now()); !errors.Is(err, ErrReplayed) {
		t.Fatalf("claim after a restart: %v, want ErrReplayed", err)
	}
}

func TestCombinedState(t *testing.T) {
	for _, c := range []struct {
		states    []BrdState
		cancelled bool
		want      BrdState
	}{
		{nil, false, BrdUnprocessed},
		{[]BrdState{BrdWaiting}, false, BrdWaiting},
		{[]BrdState{BrdWaiting, BrdPlaying}, false, BrdPlaying},
		{[]BrdState{BrdSuccess, BrdWaiting}, false, BrdPlaying}, // one part done, another still to go
		{[]BrdState{BrdSuccess, BrdFailure}, false, BrdSuccess},
		{[]BrdState{BrdFailure, BrdFailure}, false, BrdFailure},
		{[]BrdState{BrdPlaying}, true, BrdCancelled},
	} {
		if got := combine(c.states, c.cancelled); got != c.want {
			t.Errorf("combine(%v, cancelled %v) = %v, want %v", c.states, c.cancelled, got, c.want)
		}
	}
}
