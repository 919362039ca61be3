// Package review is the road an announcement (公告) takes before it may go out: staff users with
// roles, sessions, drafting, the secrecy check (保密审查), review by someone other than the
// author (先审核后公开，谁公开谁审核), the audit log, and the public archive (公开栏).
//
//	draft ──submit──> submitted ──approve(revision)──> approved ──MarkScheduled──> scheduled
//	                      │                               │                           │
//	                      └──reject(comment)──> rejected  └──MarkDone──> done <──MarkDone──┘
//
//	edit (author or admin; revision + 1): draft, submitted, rejected, approved ──> draft
//
// Scheduled and done announcements are no longer edited.
//
// Submitting runs the secrecy check; approval names the revision it approves and acknowledges
// every flag. The author never approves or rejects their own announcement. Every action is
// written to the audit log in the same transaction as the change it records.
package review

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"dalaba/controller/inventory"
	"dalaba/controller/store"
)

// Options configure the service. Zero values take the defaults shown.
type Options struct {
	Inventory          func() *inventory.Inventory // targets are validated against it
	AdminPassword      string                      // for the first admin; empty: generated and logged once
	SensitiveTermsFile string                      // one term per line; empty: DefaultTerms
	SessionTTL         time.Duration               // 12 h
	Lockout            LockoutPolicy               // failed logins that lock a name or an address (lockout.go)
	Log                *slog.Logger
}

// Service is the review workflow over the controller's store.
type Service struct {
	// ValidateVoice checks a voice name when an announcement names one; the controller sets it
	// from its text-to-speech voices. Nil accepts any voice.
	ValidateVoice func(voice string) error

	db    *store.DB
	inv   func() *inventory.Inventory
	terms []string
	ttl   time.Duration
	log   *slog.Logger

	lockout LockoutPolicy
	gate    gate // login attempts one at a time per name and per address
	now     func() time.Time
	mu      sync.Mutex // one read-modify-write at a time: SQLite has one writer anyway
}

// New applies the review tables, loads the sensitive terms and, on a store without users,
// creates the first admin.
func New(ctx context.Context, db *store.DB, opts Options) (*Service, error) {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := db.ApplyComponent(ctx, "review", migrations); err != nil {
		return nil, err
	}
	terms := DefaultTerms
	if opts.SensitiveTermsFile != "" {
		var err error
		if terms, err = LoadTerms(opts.SensitiveTermsFile); err != nil {
			return nil, err
		}
	}
	s := &Service{db: db, inv: opts.Inventory, terms: terms, ttl: opts.SessionTTL, log: opts.Log, now: time.Now,
		lockout: opts.Lockout.withDefaults()}
	if err := s.backfillScopes(ctx); err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx, opts.AdminPassword); err != nil {
		return nil, err
	}
	return s, nil
}

// Terms are the sensitive terms the secrecy check looks for.
func (s *Service) Terms() []string { return s.terms }

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// change runs f in a transaction, one change at a time, and commits if f succeeds.
func (s *Service) change(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func timeMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
