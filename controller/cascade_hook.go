package controller

import (
	"context"
	"net/http"
	"path/filepath"

	"dalaba/controller/cascade"
	"dalaba/controller/store"
)

// startCascade joins the emergency broadcast cascade when a cascade configuration is given:
// the intake at /api/v1/cascade/ (authenticated by signatures, not sessions) and the reports
// upward (package cascade).
func (c *Controller) startCascade(ctx context.Context, opts Options, db *store.DB, mux *http.ServeMux) error {
	if opts.CascadeConfig == "" {
		return nil
	}
	cfg, err := cascade.LoadConfig(opts.CascadeConfig)
	if err != nil {
		return err
	}
	signer, created, err := cascade.LoadSigner(opts.DataDir, cfg.Name)
	if err != nil {
		return err
	}
	c.CascadeCertFile = filepath.Join(opts.DataDir, cascade.CertFile)
	if created {
		c.log.Info("created the cascade key: give the upper platform the certificate", "cert", c.CascadeCertFile)
	}
	c.Cascade, err = cascade.New(ctx, cascade.Deps{Config: cfg, Signer: signer, DB: db, Inventory: c.Inventory, Dispatcher: c.Dispatcher,
		Book: c.Book, Presence: c.Presence, Health: c.Health, TTS: c.TTS, Audit: c.Review.Record, Log: c.log.With("part", "cascade")})
	if err != nil {
		return err
	}
	mux.Handle("/api/v1/cascade/", c.Cascade.Handler())
	c.log.Info("cascade ready", "platform", cfg.PlatformID, "upper", len(cfg.Upper), "downstream", len(cfg.Downstream),
		"upstream", cfg.Upstream.URL)
	return nil
}
