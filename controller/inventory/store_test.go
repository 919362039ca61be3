package inventory

import (
	"context"
	"math"
	"reflect"
	"testing"

	"dalaba/controller/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustSave(t *testing.T, db *store.DB, inv *Inventory) {
	t.Helper()
	if err := Save(context.Background(), db, inv); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func mustLoad(t *testing.T, db *store.DB) *Inventory {
	t.Helper()
	inv, err := Load(context.Background(), db)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return inv
}

func setLastSeen(t *testing.T, db *store.DB, id string, ms int64) {
	t.Helper()
	res, err := db.Exec(`UPDATE terminals SET last_seen_ms=? WHERE id=?`, ms, id)
	if err != nil {
		t.Fatalf("set last_seen_ms of %s: %v", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("set last_seen_ms of %s: %d rows", id, n)
	}
}

// lastSeen returns every stored terminal's last_seen_ms.
func lastSeen(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT id, last_seen_ms FROM terminals`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var ms int64
		if err := rows.Scan(&id, &ms); err != nil {
			t.Fatal(err)
		}
		out[id] = ms
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTerminals(t *testing.T, got, want *Inventory) {
	t.Helper()
	if !reflect.DeepEqual(got.Terminals(), want.Terminals()) {
		t.Errorf("stored inventory differs:\n got %d terminals %v\nwant %d terminals %v",
			got.Len(), ids(got.Terminals()), want.Len(), ids(want.Terminals()))
		gm := map[string]Terminal{}
		for _, term := range got.Terminals() {
			gm[term.ID] = term
		}
		for _, w := range want.Terminals() {
			if g := gm[w.ID]; g != w {
				t.Errorf("  %s: got %+v, want %+v", w.ID, g, w)
			}
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	db := openDB(t)
	if empty := mustLoad(t, db); empty.Len() != 0 {
		t.Fatalf("a new store holds %d terminals", empty.Len())
	}
	caoxi := parseCaoxi(t)
	mustSave(t, db, caoxi)
	got := mustLoad(t, db)
	sameTerminals(t, got, caoxi)
	if len(got.Villages()) != 12 {
		t.Errorf("loaded inventory has %d villages, want 12", len(got.Villages()))
	}
	if got.Name(villageAddr("361126104212")) != "曹溪林场" {
		t.Errorf("loaded inventory lost names: %q", got.Name(villageAddr("361126104212")))
	}
	// Saving the same inventory again changes nothing.
	mustSave(t, db, caoxi)
	sameTerminals(t, mustLoad(t, db), caoxi)
}

func TestSaveReplaces(t *testing.T) {
	db := openDB(t)
	caoxi := parseCaoxi(t)
	mustSave(t, db, caoxi)
	setLastSeen(t, db, "t001", 1_700_000_000_001)
	setLastSeen(t, db, "t002", 1_700_000_000_002)
	setLastSeen(t, db, "t003", 1_700_000_000_003)

	// The new survey drops t001, moves t002 and renames its group, adds t200 with t001's old
	// resource code, and leaves everything else as it was.
	var next []Terminal
	for _, term := range caoxi.Terminals() {
		switch term.ID {
		case "t001":
			continue
		case "t002":
			term.Latitude, term.Longitude, term.GroupName = 28.5, 117.4, "杨家坪新村"
		}
		next = append(next, term)
	}
	t001, _ := caoxi.Terminal("t001")
	t200 := t001
	t200.ID = "t200"
	next = append(next, t200)
	want := New(next)
	mustSave(t, db, want)

	got := mustLoad(t, db)
	sameTerminals(t, got, want)
	if _, ok := got.Terminal("t001"); ok {
		t.Errorf("t001 is still stored after an import without it")
	}
	if g, _ := got.Terminal("t002"); g.Latitude != 28.5 || g.GroupName != "杨家坪新村" {
		t.Errorf("t002 not updated: %+v", g)
	}
	if g, _ := got.Terminal("t200"); g.ResourceCode != t001.ResourceCode {
		t.Errorf("t200 = %+v, want t001's resource code %s", g, t001.ResourceCode)
	}
	seen := lastSeen(t, db)
	if len(seen) != 125 {
		t.Errorf("%d rows stored, want 125", len(seen))
	}
	for id, want := range map[string]int64{"t002": 1_700_000_000_002, "t003": 1_700_000_000_003, "t200": 0, "t125": 0} {
		if seen[id] != want {
			t.Errorf("last_seen_ms of %s = %d, want %d", id, seen[id], want)
		}
	}
	if _, ok := seen["t001"]; ok {
		t.Errorf("t001's row survived")
	}
}

func TestSaveSwapsResourceCodes(t *testing.T) {
	db := openDB(t)
	caoxi := parseCaoxi(t)
	mustSave(t, db, caoxi)
	setLastSeen(t, db, "t010", 42)

	// Two loudspeakers were mixed up at installation: t010 and t011 swap resource codes,
	// and t012 takes t013's while t013 takes t012's.
	ts := append([]Terminal(nil), caoxi.Terminals()...)
	idx := map[string]int{}
	for i, term := range ts {
		idx[term.ID] = i
	}
	swap := func(a, b string) {
		ts[idx[a]].ResourceCode, ts[idx[b]].ResourceCode = ts[idx[b]].ResourceCode, ts[idx[a]].ResourceCode
	}
	swap("t010", "t011")
	swap("t012", "t013")
	want := New(ts)
	mustSave(t, db, want)
	sameTerminals(t, mustLoad(t, db), want)
	if seen := lastSeen(t, db); seen["t010"] != 42 {
		t.Errorf("t010 lost its last_seen_ms: %d", seen["t010"])
	}
	// And back again.
	mustSave(t, db, caoxi)
	sameTerminals(t, mustLoad(t, db), caoxi)
}

func TestSaveAllOrNothing(t *testing.T) {
	caoxi := parseCaoxi(t)
	a, _ := caoxi.Terminal("t001")
	b, _ := caoxi.Terminal("t002")
	sharedCode := b
	sharedCode.ResourceCode = a.ResourceCode
	noLatitude := b
	noLatitude.Latitude = math.NaN() // SQLite stores NaN as NULL, which the schema refuses
	tests := []struct {
		name string
		bad  []Terminal
	}{
		// The new terminal sorts last, so the failure comes after many rows were written.
		{"two terminals share a resource code", append(append([]Terminal(nil), caoxi.Terminals()...),
			Terminal{ID: "t999", ResourceCode: a.ResourceCode, TownCode: a.TownCode, TownName: a.TownName,
				VillageCode: a.VillageCode, VillageName: a.VillageName, GroupCode: a.GroupCode, GroupName: a.GroupName})},
		{"two terminals share a resource code, small", []Terminal{a, sharedCode}},
		{"latitude NaN", []Terminal{a, noLatitude}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			mustSave(t, db, caoxi)
			setLastSeen(t, db, "t001", 11)
			setLastSeen(t, db, "t125", 125)
			before := lastSeen(t, db)

			if err := Save(context.Background(), db, New(tc.bad)); err == nil {
				t.Fatalf("Save of an invalid inventory succeeded")
			}
			sameTerminals(t, mustLoad(t, db), caoxi)
			if after := lastSeen(t, db); !reflect.DeepEqual(after, before) {
				t.Errorf("last_seen_ms changed by a failed Save:\n got %v\nwant %v", after, before)
			}
			// The failed attempt leaves nothing behind that blocks the next import.
			smaller := New(caoxi.Terminals()[:10])
			mustSave(t, db, smaller)
			sameTerminals(t, mustLoad(t, db), smaller)
			if seen := lastSeen(t, db); seen["t001"] != 11 {
				t.Errorf("t001 last_seen_ms = %d, want 11", seen["t001"])
			}
		})
	}
}

func TestSaveLoadClosedDB(t *testing.T) {
	db := openDB(t)
	db.Close()
	if err := Save(context.Background(), db, parseCaoxi(t)); err == nil {
		t.Errorf("Save on a closed store succeeded")
	}
	if _, err := Load(context.Background(), db); err == nil {
		t.Errorf("Load on a closed store succeeded")
	}
}
