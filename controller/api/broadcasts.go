package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"dalaba/controller/dispatch"
	"dalaba/controller/receipts"
	"dalaba/controller/review"
	"dalaba/proto/wire"
)

// createBroadcast sends an uploaded program to targets inside the caller's scope.
func (s *Server) createBroadcast(w http.ResponseWriter, r *http.Request, u review.User) {
	if err := parseUpload(w, r, "form", "请求格式错误：需要 multipart 表单"); err != nil {
		s.fail(w, r, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	targets, err := wire.ParseAddresses(r.FormValue("targets"))
	if err != nil {
		s.fail(w, r, &dispatch.InputError{Field: "targets", Message: "目标地址格式错误，应为 town:/village:/group:/terminal: 加编码，多个用逗号分隔", Err: err})
		return
	}
	if err := s.checkScope(u, targets); err != nil {
		s.denyOutside(w, r, err) // the route's audit record has the refusal
		return
	}
	validFor, err := parseValidFor(r.FormValue("valid_for"))
	if err != nil {
		s.fail(w, r, &dispatch.InputError{Field: "valid_for", Message: "有效期格式错误，应为秒数或如 30m 的时长", Err: err})
		return
	}
	req := dispatch.Request{Title: r.FormValue("title"), Targets: targets, ValidFor: validFor}
	if f, fh, err := r.FormFile("audio"); err == nil {
		defer f.Close()
		if err := checkUpload(f, fh); err != nil {
			s.limitFail(s.fail)(w, r, err)
			return
		}
		req.Audio = f
	}
	id, err := s.Dispatcher.Broadcast(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/broadcasts/"+id)
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func parseValidFor(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// getBroadcast answers a broadcast's report. With ?wait=finished it holds the request until the
// broadcast finishes or ?timeout (default 30 s, at most 5 min) passes.
func (s *Server) getBroadcast(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if r.URL.Query().Get("wait") == "finished" {
		timeout := 30 * time.Second
		if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && t > 0 && t <= 5*time.Minute {
			timeout = t
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		_, err := s.Book.Await(ctx, id, ended)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, receipts.ErrUnknownBroadcast) {
			s.fail(w, r, err)
			return
		}
	}
	sum, err := s.Book.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.report(sum))
}

// listBroadcasts answers the newest 100 broadcasts the caller may see: those whose targets lie
// inside their scope.
func (s *Server) listBroadcasts(w http.ResponseWriter, r *http.Request, u review.User) {
	rows, err := s.DB.QueryContext(r.Context(), `SELECT id, title, targets, state, created_ms FROM broadcasts
		ORDER BY created_ms DESC`)
	if err != nil {
		s.fail(w, r, fmt.Errorf("list broadcasts: %w", err))
		return
	}
	defer rows.Close()
	type item struct {
		ID        string    `json:"id"`
		Title     string    `json:"title"`
		Targets   string    `json:"targets"`
		State     string    `json:"state"`
		CreatedAt time.Time `json:"created_at"`
	}
	out := []item{}
	for rows.Next() && len(out) < 100 {
		var it item
		var created int64
		if err := rows.Scan(&it.ID, &it.Title, &it.Targets, &it.State, &created); err != nil {
			s.fail(w, r, fmt.Errorf("list broadcasts: %w", err))
			return
		}
		it.CreatedAt = time.UnixMilli(created)
		if s.visible(u, it.Targets) {
			out = append(out, it)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// ended is what ?wait=finished waits for: finished, or cancelled with every terminal's final
// receipt (and its proof of what it played) in.
func ended(state string, c receipts.Counts) bool {
	if state == receipts.StateFinished {
		return true
	}
	if state != receipts.StateCancelled {
		return false
	}
	for st, n := range c {
		if n > 0 && !st.Final() {
			return false
		}
	}
	return true
}
