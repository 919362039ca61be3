package api

import (
	"context"
	"errors"
	"net/http"

	"dalaba/controller/identity"
	"dalaba/controller/review"
	"dalaba/proto/provision"
	"dalaba/proto/wire"
)

// Credentials mints and revokes terminals' tokens (the controller; nil answers 503).
type Credentials interface {
	// Provision gives each terminal a new token and returns its provisioning bundle.
	Provision(ctx context.Context, terminals []string) ([]provision.Bundle, error)
	Revoke(ctx context.Context, terminal string) error
}

// maxProvision bounds one provisioning call; a township has a few hundred horns.
const maxProvision = 20000

// provisionTerminals: POST /api/v1/terminals/provision {"terminals": ["t001", ...]} answers each
// terminal's bundle, with its new token; the token is shown this once (only its hash is kept)
// and any token it had stops working.
func (s *Server) provisionTerminals(w http.ResponseWriter, r *http.Request, u review.User) {
	if s.Credentials == nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "本控制器未启用终端凭据"})
		return
	}
	var req struct {
		Terminals []string `json:"terminals"`
	}
	if err := readJSON(r, &req); err != nil || len(req.Terminals) == 0 || len(req.Terminals) > maxProvision {
		detail := "want {\"terminals\": [\"t001\", ...]} with 1 to 20000 terminal ids"
		if err != nil {
			detail = err.Error()
		}
		writeJSON(w, http.StatusBadRequest, apiError{Error: "请求格式错误：需要 JSON，如 {\"terminals\": [\"t001\"]}", Field: "terminals", Detail: detail})
		return
	}
	for _, id := range req.Terminals {
		if _, ok := s.Inventory().Terminal(id); !ok {
			writeJSON(w, http.StatusNotFound, apiError{Error: "终端不存在：" + id, Field: "terminals", Detail: "no terminal " + id + " in the inventory; nothing was provisioned"})
			return
		}
		if err := s.checkScope(u, []wire.Address{{Tier: wire.TierTerminal, Code: id}}); err != nil {
			s.denyOutside(w, r, err)
			return
		}
	}
	bundles, err := s.Credentials.Provision(r.Context(), req.Terminals)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bundles": bundles})
}

// revokeTerminal: POST /api/v1/terminals/{id}/revoke. The terminal is dropped from the broker at
// once and refused on reconnect and by the audio service until it is provisioned again.
func (s *Server) revokeTerminal(w http.ResponseWriter, r *http.Request) {
	if s.Credentials == nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "本控制器未启用终端凭据"})
		return
	}
	id := r.PathValue("id")
	err := s.Credentials.Revoke(r.Context(), id)
	switch {
	case errors.Is(err, identity.ErrUnknownTerminal):
		writeJSON(w, http.StatusNotFound, apiError{Error: "终端不存在：" + id, Detail: err.Error()})
	case errors.Is(err, identity.ErrNotProvisioned):
		writeJSON(w, http.StatusConflict, apiError{Error: "终端 " + id + " 没有有效凭据（未配置或已吊销）", Detail: err.Error()})
	case err != nil:
		s.fail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
	}
}
