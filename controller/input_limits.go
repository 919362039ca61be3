package controller

import (
	"context"
	"net/http"

	"dalaba/controller/limits"
)

// limitAPI puts the API behind the input limits (package limits), counting staff by the user
// of their session and everyone else by address.
func (c *Controller) limitAPI(h http.Handler, cfg limits.Config) http.Handler {
	users := func(ctx context.Context, token string) (string, bool) {
		u, err := c.Review.Authenticate(ctx, token)
		return u.Name, err == nil
	}
	return limits.New(cfg, users, c.log).Wrap(h)
}
