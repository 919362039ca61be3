package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// answer is what the API said to an in-process call.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports a 2xx answer.
func (a answer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// apiError is the API's error body: a message for staff in Chinese, the field it is about.
type apiError struct {
	Error          string   `json:"error"`
	Field          string   `json:"field"`
	Detail         string   `json:"detail"`
	Unacknowledged []string `json:"unacknowledged"`
}

// Err decodes the error body; a body that is not one still gives a message for staff.
func (a answer) Err() apiError {
	var e apiError
	if json.Unmarshal(a.Body, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("系统返回错误（%d），请联系管理员", a.Status)
	}
	return e
}

// Decode reads a JSON answer into v.
func (a answer) Decode(v any) error {
	if err := json.Unmarshal(a.Body, v); err != nil {
		return fmt.Errorf("api answer %d: %w", a.Status, err)
	}
	return nil
}

// call sends a request to the API in-process, as the signed-in user of token (none when
// empty), from the address of the browser's request r: the API's login limits and audit log
// see the real client.
func (c *Console) call(r *http.Request, token, method, path, contentType string, body io.Reader) answer {
	if body == nil {
		body = http.NoBody // a server's handlers read the body of any request
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, body)
	if err != nil {
		return answer{Status: http.StatusInternalServerError, Body: []byte(`{"error":"系统内部错误"}`)}
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return answer{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

// callJSON sends v as a JSON body (no body when nil).
func (c *Console) callJSON(r *http.Request, token, method, path string, v any) answer {
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return answer{Status: http.StatusInternalServerError, Body: []byte(`{"error":"系统内部错误"}`)}
		}
		body = bytes.NewReader(b)
	}
	return c.call(r, token, method, path, "application/json", body)
}

// get reads path from the API into v; an answer that does not decode is a 500.
func (c *Console) get(r *http.Request, u user, path string, v any) answer {
	ans := c.call(r, u.token, "GET", path, "", nil)
	if ans.OK() {
		if err := ans.Decode(v); err != nil {
			c.log.Error("console: api answer", "path", path, "err", err)
			ans.Status = http.StatusInternalServerError
		}
	}
	return ans
}

// recorder is the ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
