package controller

import (
	"fmt"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"dalaba/controller/web"
	"dalaba/proto/provision"
)

// serveHTTP routes the controller's HTTP port: the API (behind its input limits) under /api/
// and /healthz, Prometheus at /metrics, and the staff console (package web) everywhere else.
// The console calls the same limited API handler in-process, so it is held to the same
// logins, roles, scopes and limits as ebctl.
func (c *Controller) serveHTTP(mux *http.ServeMux, api http.Handler) error {
	console, err := web.New(web.Options{API: api, Log: c.log, DialGRPC: dialShout})
	if err != nil {
		return err
	}
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/", console.Handler())
	return nil
}

// dialShout connects the console's shouts to the gRPC address the API named, trusting only
// the CA it named (plain gRPC when none), as ebctl shout does.
func dialShout(addr, caPEM string) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if caPEM != "" {
		cfg, err := provision.ClientTLS([]byte(caPEM))
		if err != nil {
			return nil, fmt.Errorf("the controller's CA: %w", err)
		}
		creds = credentials.NewTLS(cfg)
	}
	return grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
}
