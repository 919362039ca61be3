package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"dalaba/controller/review"
)

// The generic audit record of a call: who called which route on what, with what (a small JSON
// body, or the fields of a form), and how it ended (the status, and the error staff saw).

// maxAuditedBody is the largest JSON request body copied into the audit log.
const maxAuditedBody = 16 << 10

// audited records every call of h as rt.Audit says, after the call.
func (s *Server) audited(rt Route, h handler) handler {
	action, objectTmpl, _ := strings.Cut(rt.Audit, " ")
	return func(w http.ResponseWriter, r *http.Request, u review.User) {
		request := auditedBody(r)
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r, u)
		details := map[string]any{"path": r.URL.Path, "status": sw.status(), "source": source(r)}
		if request != nil {
			details["request"] = request
		}
		if r.MultipartForm != nil && len(r.MultipartForm.Value) > 0 {
			details["form"] = r.MultipartForm.Value
		}
		if msg := sw.errorMessage(); msg != "" {
			details["error"] = msg
		}
		// Not the request's context: a client that went away does not take the record with it.
		s.record(context.WithoutCancel(r.Context()), u, action, objectOf(objectTmpl, r, sw), details)
	}
}

// auditedBody reads a JSON body small enough to keep, and puts it back for the handler.
func auditedBody(r *http.Request) json.RawMessage {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Body == nil || (mt != "application/json" && mt != "") || r.ContentLength > maxAuditedBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxAuditedBody+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
	if err != nil || len(b) > maxAuditedBody || !json.Valid(b) {
		return nil
	}
	return json.RawMessage(b)
}

// objectOf fills in {id}, {name} and {created} of an object template.
func objectOf(tmpl string, r *http.Request, sw *statusWriter) string {
	out := tmpl
	for _, v := range []string{"id", "name"} {
		out = strings.ReplaceAll(out, "{"+v+"}", r.PathValue(v))
	}
	if strings.Contains(out, "{created}") {
		created := ""
		if loc := sw.Header().Get("Location"); loc != "" {
			created = path.Base(loc)
		}
		out = strings.ReplaceAll(out, "{created}", created)
	}
	return out
}

// statusWriter remembers the status and the start of an error answer.
type statusWriter struct {
	http.ResponseWriter
	code    int
	errBody []byte
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.code >= 400 && len(w.errBody) < 4096 {
		w.errBody = append(w.errBody, b[:min(len(b), 4096-len(w.errBody))]...)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// errorMessage is the "error" of an error answer, as staff saw it.
func (w *statusWriter) errorMessage() string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(w.errBody, &e) != nil {
		return ""
	}
	return e.Error
}
