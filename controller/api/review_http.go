package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"dalaba/controller/review"
)

// reviewError is the error body of the review endpoints: the usual one, and for 422 the ids
// of the secrecy flags still to acknowledge.
type reviewError struct {
	apiError
	Unacknowledged []string `json:"unacknowledged,omitempty"`
}

var reviewStatus = map[review.Kind]int{
	review.Invalid:         http.StatusBadRequest,
	review.Unauthorized:    http.StatusUnauthorized,
	review.Forbidden:       http.StatusForbidden,
	review.NotFound:        http.StatusNotFound,
	review.Conflict:        http.StatusConflict,
	review.Unacknowledged:  http.StatusUnprocessableEntity,
	review.Locked:          http.StatusLocked,
	review.TooManyAttempts: http.StatusTooManyRequests,
}

func (s *Server) reviewFail(w http.ResponseWriter, r *http.Request, err error) {
	var re *review.Error
	if !errors.As(err, &re) || reviewStatus[re.Kind] == 0 {
		s.fail(w, r, err)
		return
	}
	code := reviewStatus[re.Kind]
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dalaba", error="invalid_token"`)
	}
	writeJSON(w, code, reviewError{apiError{Error: re.Message, Field: re.Field, Detail: re.Error()}, re.Flags})
}

// decodeJSON reads a JSON body of at most 256 KiB with no unknown fields. An empty body
// decodes as {}.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var timeErr *time.ParseError
	switch {
	case err == nil || errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooBig):
		return err
	case errors.As(err, &typeErr):
		return &review.Error{Kind: review.Invalid, Field: typeErr.Field, Message: fmt.Sprintf("字段 %s 的类型错误", typeErr.Field), Err: err}
	case errors.As(err, &timeErr):
		return &review.Error{Kind: review.Invalid, Field: "time", Message: "时间格式错误，应如 2026-03-01T08:00:00+08:00", Err: err}
	}
	return &review.Error{Kind: review.Invalid, Field: "body", Message: "请求格式错误：需要 JSON，且只含规定的字段", Err: err}
}

// announcementID reads {id}; a malformed one is an announcement that does not exist.
func announcementID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &review.Error{Kind: review.NotFound, Message: "找不到该公告", Err: fmt.Errorf("announcement %q: %w", r.PathValue("id"), review.ErrNotFound)}
	}
	return id, nil
}

// limit reads ?limit=, 0 when absent or malformed (the service's default).
func limit(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit")) // a malformed limit means the default
	return n
}
