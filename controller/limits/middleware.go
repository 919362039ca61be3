package limits

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Users finds the staff user of a session token; ok is false for none (unknown, expired).
type Users func(ctx context.Context, token string) (user string, ok bool)

// bodyTimeout bounds the arrival of a JSON body, so a client trickling one cannot hold a
// handler open (the server itself only bounds the headers).
var bodyTimeout = 30 * time.Second

// Limiter applies Config to every request of a handler.
type Limiter struct {
	cfg   Config
	users Users
	log   *slog.Logger

	api, login *buckets
	known      tokens

	refused    [kinds]atomic.Int64
	bodyLogged atomic.Int64 // unix ns of the last body refusal logged
}

// Refusal kinds, for Refused.
const (
	Rate = iota
	LoginRate
	BodySize
	kinds
)

// New makes a limiter. users resolves Bearer tokens so that staff are counted by user, not by
// address; nil counts every request by address.
func New(cfg Config, users Users, log *slog.Logger) *Limiter {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	login := newBuckets(cfg.LoginRate, cfg.LoginBurst)
	if cfg.Rate < 0 {
		login = newBuckets(-1, 0)
	}
	return &Limiter{cfg: cfg, users: users, log: log, api: newBuckets(cfg.Rate, cfg.Burst), login: login}
}

// Config is the limits in force, defaults filled in.
func (l *Limiter) Config() Config { return l.cfg }

// Refused counts the requests refused of one kind (Rate, LoginRate, BodySize).
func (l *Limiter) Refused(kind int) int64 { return l.refused[kind].Load() }

// Wrap serves next behind the limits.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.allow(w, r) && l.body(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// allow spends a token of the client's bucket (and of its address's login bucket for a login).
// A token not yet known to be valid is counted by address; it is looked up only once that
// bucket allows the request, so made-up tokens cost a flood its address's tokens, not lookups.
func (l *Limiter) allow(w http.ResponseWriter, r *http.Request) bool {
	now := time.Now()
	ip := ClientIP(r)
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/login" {
		if ok, wait, logIt := l.login.take(ip, now); !ok {
			l.tooMany(w, r, LoginRate, "ip "+ip, wait, logIt, "登录尝试过于频繁")
			return false
		}
	}
	token := bearer(r)
	key := "ip " + ip
	if token != "" {
		if user, ok := l.known.get(token, now); ok {
			key = "user " + user
		}
	}
	if ok, wait, logIt := l.api.take(key, now); !ok {
		l.tooMany(w, r, Rate, key, wait, logIt, "请求过于频繁")
		return false
	}
	if token != "" && key[0] == 'i' && l.users != nil {
		if user, ok := l.users(r.Context(), token); ok {
			l.known.put(token, user, now)
		}
	}
	return true
}

func (l *Limiter) tooMany(w http.ResponseWriter, r *http.Request, kind int, key string, wait time.Duration, logIt bool, what string) {
	l.refused[kind].Add(1)
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	if logIt {
		l.log.Warn("request rate limited", "client", key, "method", r.Method, "path", r.URL.Path, "retry_after_s", secs)
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	rate, burst := l.cfg.Rate, l.cfg.Burst
	if kind == LoginRate {
		rate, burst = l.cfg.LoginRate, l.cfg.LoginBurst
	}
	writeError(w, http.StatusTooManyRequests, fmt.Sprintf("%s，请 %d 秒后再试", what, secs), "",
		fmt.Sprintf("rate limit of %s: %g requests a second, %d at once; retry after %d s", key, rate, burst, secs))
}

// body bounds the request body: a multipart form (an upload) by MaxUploadBytes, anything else
// (JSON) by MaxJSONBytes, read here whole, under a deadline, so that handlers never see more.
func (l *Limiter) body(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if r.ContentLength > l.cfg.MaxUploadBytes {
			l.tooLarge(w, r, &TooLargeError{What: "上传内容", Size: r.ContentLength, Limit: l.cfg.MaxUploadBytes})
			return false
		}
		r.Body = http.MaxBytesReader(w, r.Body, l.cfg.MaxUploadBytes)
		return true
	}
	limit := l.cfg.MaxJSONBytes
	if r.ContentLength > limit {
		l.tooLarge(w, r, &TooLargeError{What: "请求内容", Size: r.ContentLength, Limit: limit})
		return false
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout)) // unsupported by test recorders: no deadline there
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	// Cleared before the handler runs: a deadline passing under the server's background read
	// would cancel the request's context.
	_ = rc.SetReadDeadline(time.Time{})
	var ne interface{ Timeout() bool }
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		writeError(w, http.StatusRequestTimeout, "请求内容上传超时", "body", fmt.Sprintf("body not received within %v: %v", bodyTimeout, err))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "请求内容读取失败", "body", err.Error())
		return false
	case int64(len(b)) > limit:
		l.tooLarge(w, r, &TooLargeError{What: "请求内容", Size: -1, Limit: limit})
		return false
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return true
}

func (l *Limiter) tooLarge(w http.ResponseWriter, r *http.Request, e *TooLargeError) {
	l.refused[BodySize].Add(1)
	// At most one line a second: the refusals are counted, a flood of them need not be logged.
	if now := time.Now().UnixNano(); now-l.bodyLogged.Load() >= int64(time.Second) {
		l.bodyLogged.Store(now)
		l.log.Warn("request body too large", "client", ClientIP(r), "method", r.Method, "path", r.URL.Path, "err", e,
			"refused_so_far", l.refused[BodySize].Load())
	}
	Answer(w, e)
}

// Answer writes the response for a limit error (413 for *TooLargeError, 400 for *TooLongError)
// and reports whether err was one.
func Answer(w http.ResponseWriter, err error) bool {
	var large *TooLargeError
	var long *TooLongError
	switch {
	case errors.As(err, &large):
		field := ""
		if large.What == "音频文件" {
			field = "audio"
		}
		writeError(w, http.StatusRequestEntityTooLarge, large.Chinese(), field, large.Error())
	case errors.As(err, &long):
		writeError(w, http.StatusBadRequest, long.Chinese(), "audio", long.Error())
	default:
		return false
	}
	return true
}

// writeError answers like the API does: {"error": 中文, "field", "detail"}.
func writeError(w http.ResponseWriter, code int, msg, field, detail string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		Error  string `json:"error"`
		Field  string `json:"field,omitempty"`
		Detail string `json:"detail,omitempty"`
	}{msg, field, detail})
}
