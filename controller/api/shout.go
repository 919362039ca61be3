package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"dalaba/controller/dispatch"
	"dalaba/controller/review"
	"dalaba/proto/wire"
)

// ShoutOpener opens a live shout (喊话) to targets for user by: it records the live broadcast,
// tells the terminals to listen, and returns the broadcast id and the key the speaker's
// stream (LiveService.Shout) must present. The live hub (controller/live) implements it.
type ShoutOpener interface {
	OpenShout(ctx context.Context, title string, targets []wire.Address, by string) (id, streamKey string, err error)
}

// createShout: POST /api/v1/shouts {"title", "targets"} -> 201 {"id", "stream_key", "grpc"}.
// The targets must lie inside the speaker's scope.
func (s *Server) createShout(w http.ResponseWriter, r *http.Request, u review.User) {
	var req struct {
		Title   string `json:"title"`
		Targets string `json:"targets"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.reviewFail(w, r, err)
		return
	}
	targets, err := wire.ParseAddresses(req.Targets)
	if err != nil {
		s.fail(w, r, &dispatch.InputError{Field: "targets", Message: "目标地址格式错误，应为 town:/village:/group:/terminal: 加编码，多个用逗号分隔", Err: err})
		return
	}
	if err := s.checkScope(u, targets); err != nil {
		s.refuseOutside(w, r, u, "shout", "user:"+u.Name, targets, err)
		return
	}
	if s.Shouts == nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "实时喊话服务不可用，请联系管理员", Detail: "no live shouting hub on this controller"})
		return
	}
	title := strings.TrimSpace(req.Title)
	if title == "" {
		title = fmt.Sprintf("%s的喊话", u.DisplayName)
	}
	id, key, err := s.Shouts.OpenShout(r.Context(), title, targets, u.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.record(r.Context(), u, "shout", "broadcast:"+id, map[string]any{"title": title, "targets": targetList(targets), "scope": u.Scope})
	s.Log.Info("shout opened", "broadcast", id, "by", u.Name, "targets", targetList(targets))
	w.Header().Set("Location", "/api/v1/broadcasts/"+id)
	out := map[string]any{"id": id, "stream_key": key}
	if s.GRPCAddr != "" {
		out["grpc"] = s.GRPCAddr
	}
	if s.GRPCCA != "" {
		out["grpc_ca"] = s.GRPCCA
	}
	writeJSON(w, http.StatusCreated, out)
}
