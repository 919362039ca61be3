package identity

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"dalaba/controller/inventory"
	"dalaba/controller/store"
	"dalaba/proto/provision"
	"dalaba/proto/wire"
)

func openCreds(t *testing.T, dir string) (*Credentials, *store.DB) {
	t.Helper()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New([]inventory.Terminal{
		{ID: "t001", TownCode: "361126104", VillageCode: "361126104201", GroupCode: "361126104201001"},
		{ID: "t013", TownCode: "361126104", VillageCode: "361126104202", GroupCode: "361126104202001"},
	})
	c, err := Open(context.Background(), db, func() *inventory.Inventory { return inv }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return c, db
}

func TestTokensSurviveARestartAndRevocationIsFinal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c, db := openCreds(t, dir)
	ctx := context.Background()
	var cut []string
	c.OnRevoke(func(id string) { cut = append(cut, id) })
	toks, err := c.Mint(ctx, []string{"t001", "t013"})
	if err != nil {
		t.Fatal(err)
	}
	if !provision.TokenPattern.MatchString(toks["t001"]) || toks["t001"] == toks["t013"] {
		t.Fatalf("tokens %q", toks)
	}
	id, ok := c.Authenticate("t001", []byte(toks["t001"]))
	if !ok || id.Terminal != "t001" || len(id.Addresses) != 4 || id.Addresses[1] != (wire.Address{Tier: wire.TierVillage, Code: "361126104201"}) {
		t.Fatalf("authenticate t001: %v %+v", ok, id)
	}
	for _, bad := range []struct{ user, tok string }{{"t001", toks["t013"]}, {"t013", toks["t001"]}, {"t001", ""}, {"t999", toks["t001"]}} {
		if _, ok := c.Authenticate(bad.user, []byte(bad.tok)); ok {
			t.Errorf("authenticated %s with %q", bad.user, bad.tok)
		}
	}
	if _, err := c.Mint(ctx, []string{"t001", "t999"}); !errors.Is(err, ErrUnknownTerminal) || !strings.Contains(err.Error(), "t999") {
		t.Errorf("mint with an unknown terminal: %v", err)
	}
	if !c.Check("t001", toks["t001"]) {
		t.Error("a failed mint changed t001's token")
	}
	if err := c.Revoke(ctx, "t013"); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, "t013"); !errors.Is(err, ErrNotProvisioned) {
		t.Errorf("second revoke: %v, want ErrNotProvisioned", err)
	}
	if len(cut) != 1 || cut[0] != "t013" {
		t.Errorf("cut off %v, want [t013]", cut)
	}
	db.Close()

	c, db = openCreds(t, dir)
	defer db.Close()
	if !c.Check("t001", toks["t001"]) {
		t.Error("t001's token did not survive a restart")
	}
	if c.Check("t013", toks["t013"]) {
		t.Error("t013's revoked token works again after a restart")
	}
	var stored string
	if err := db.QueryRow(`SELECT hex(token_sha256) FROM terminal_tokens WHERE terminal_id='t001'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(stored), strings.ToLower(toks["t001"])) || len(stored) != 64 {
		t.Errorf("stored %q: want only a SHA-256", stored)
	}
}
