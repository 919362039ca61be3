// Package identity is who a terminal is: the token the controller minted for it (only its
// SHA-256 is stored), checked by the embedded broker on connect (broker.Authority) and by the
// audio service on every gRPC call. A revoked terminal is cut off at once.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"dalaba/controller/broker"
	"dalaba/controller/inventory"
	"dalaba/controller/store"
)

// migrations are the component "identity" in the store (store.ApplyComponent).
var migrations = []string{
	`CREATE TABLE terminal_tokens (
		terminal_id   TEXT PRIMARY KEY,
		token_sha256  BLOB NOT NULL,
		issued_ms     INTEGER NOT NULL,
		revoked_ms    INTEGER NOT NULL DEFAULT 0 -- 0 while the token is good
	);`,
}

// ErrUnknownTerminal and ErrNotProvisioned name why a terminal cannot be provisioned or revoked.
var (
	ErrUnknownTerminal = errors.New("no such terminal in the inventory")
	ErrNotProvisioned  = errors.New("terminal has no valid token (never provisioned, or already revoked)")
)

// Credentials holds every terminal's token hash, in memory for the broker's connect path and in
// the store for restarts.
type Credentials struct {
	db        *store.DB
	inventory func() *inventory.Inventory
	log       *slog.Logger

	mu       sync.RWMutex
	hashes   map[string][sha256.Size]byte // terminal -> hash of its good token
	onRevoke []func(terminal string)
}

// Open loads the good tokens' hashes from db.
func Open(ctx context.Context, db *store.DB, inv func() *inventory.Inventory, log *slog.Logger) (*Credentials, error) {
	if err := db.ApplyComponent(ctx, "identity", migrations); err != nil {
		return nil, err
	}
	c := &Credentials{db: db, inventory: inv, log: log, hashes: map[string][sha256.Size]byte{}}
	rows, err := db.QueryContext(ctx, `SELECT terminal_id, token_sha256 FROM terminal_tokens WHERE revoked_ms = 0`)
	if err != nil {
		return nil, fmt.Errorf("load terminal tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("load terminal tokens: %w", err)
		}
		c.hashes[id] = [sha256.Size]byte(h)
	}
	return c, rows.Err()
}

// OnRevoke calls f with each terminal whose token stops being good (revoked or replaced), after
// the store has it: the broker disconnects it.
func (c *Credentials) OnRevoke(f func(terminal string)) {
	c.mu.Lock()
	c.onRevoke = append(c.onRevoke, f)
	c.mu.Unlock()
}

// Mint gives each terminal a new random token, replacing any it had, and returns the tokens:
// all of them or, on any error (an unknown terminal named first), none.
func (c *Credentials) Mint(ctx context.Context, terminals []string) (map[string]string, error) {
	inv := c.inventory()
	for _, id := range terminals {
		if _, ok := inv.Terminal(id); !ok {
			return nil, fmt.Errorf("terminal %q: %w", id, ErrUnknownTerminal)
		}
	}
	tokens := make(map[string]string, len(terminals))
	for _, id := range terminals {
		tokens[id] = newToken()
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("mint tokens: %w", err)
	}
	now := time.Now().UnixMilli()
	for id, tok := range tokens {
		h := hash(tok)
		if _, err := tx.ExecContext(ctx, `INSERT INTO terminal_tokens (terminal_id, token_sha256, issued_ms) VALUES (?, ?, ?)
			ON CONFLICT(terminal_id) DO UPDATE SET token_sha256=excluded.token_sha256, issued_ms=excluded.issued_ms, revoked_ms=0`,
			id, h[:], now); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("mint token for %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("mint tokens: %w", err)
	}
	var replaced []string
	c.mu.Lock()
	for id, tok := range tokens {
		if _, had := c.hashes[id]; had {
			replaced = append(replaced, id)
		}
		c.hashes[id] = hash(tok)
	}
	c.mu.Unlock()
	c.cutOff(replaced)
	c.log.Info("terminal tokens minted", "terminals", len(tokens), "replaced", len(replaced))
	return tokens, nil
}

// Revoke makes a terminal's token worthless at once: the broker drops the terminal and
// refuses it on reconnect, and the audio service refuses its calls.
func (c *Credentials) Revoke(ctx context.Context, terminal string) error {
	if _, ok := c.inventory().Terminal(terminal); !ok {
		return fmt.Errorf("terminal %q: %w", terminal, ErrUnknownTerminal)
	}
	res, err := c.db.ExecContext(ctx, `UPDATE terminal_tokens SET revoked_ms=? WHERE terminal_id=? AND revoked_ms=0`,
		time.Now().UnixMilli(), terminal)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", terminal, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("terminal %q: %w", terminal, ErrNotProvisioned)
	}
	c.mu.Lock()
	delete(c.hashes, terminal)
	c.mu.Unlock()
	c.cutOff([]string{terminal})
	c.log.Warn("terminal token revoked", "terminal", terminal)
	return nil
}

func (c *Credentials) cutOff(terminals []string) {
	c.mu.RLock()
	hooks := c.onRevoke
	c.mu.RUnlock()
	for _, id := range terminals {
		for _, f := range hooks {
			f(id)
		}
	}
}

// Check says whether token is the terminal's good token.
func (c *Credentials) Check(terminal, token string) bool {
	c.mu.RLock()
	want, ok := c.hashes[terminal]
	c.mu.RUnlock()
	got := hash(token)
	return ok && subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// Authenticate implements broker.Authority: the MQTT username is the terminal id, the
// password its token.
func (c *Credentials) Authenticate(username string, password []byte) (broker.Identity, bool) {
	if !c.Check(username, string(password)) {
		return broker.Identity{}, false
	}
	t, ok := c.inventory().Terminal(username)
	if !ok {
		return broker.Identity{}, false // deleted from the inventory since it was provisioned
	}
	a := t.Addresses()
	return broker.Identity{Terminal: t.ID, Addresses: a[:]}, true
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }
