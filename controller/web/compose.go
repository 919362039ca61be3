package web

import (
	"net/http"
	"strconv"
	"time"

	"dalaba/controller/review"
)

// composeFields are the compose form's fields; the API's error fields map onto them.
var composeFields = []string{"title", "category", "domain", "text", "targets", "valid_from", "valid_until", "audio", "source"}

func (c *Console) composePage(w http.ResponseWriter, r *http.Request, u user) {
	f := newForm()
	f.Values["source"] = "text"
	c.showCompose(w, r, u, http.StatusOK, f)
}

func (c *Console) showCompose(w http.ResponseWriter, r *http.Request, u user, code int, f *form) {
	ts, ans := c.terminals(r, u)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	c.renderStatus(w, r, code, "compose", u, map[string]any{"Towns": buildTree(ts), "Checked": f.Checked, "Errors": f.Errors,
		"Form": f, "Categories": review.Categories, "Domains": review.Domains})
}

// compose drafts the announcement and submits it for review (先审核后公开). The draft is only
// made once every field the console can check is right; the API checks the rest, and its
// refusal is shown next to the field it names.
func (c *Console) compose(w http.ResponseWriter, r *http.Request, u user) {
	f := readForm(r, composeFields...)
	in := map[string]any{}
	for k, v := range map[string]string{"title": f.Values["title"], "category": f.Values["category"], "domain": f.Values["domain"], "targets": f.Targets()} {
		if v != "" { // left out, so the API names what is missing rather than refusing an empty value
			in[k] = v
		}
	}
	if from := f.localTime("valid_from"); !from.IsZero() {
		in["valid_from"] = from.Format(time.RFC3339)
	}
	if until := f.localTime("valid_until"); !until.IsZero() {
		in["valid_until"] = until.Format(time.RFC3339)
	}
	if f.Values["source"] == "upload" {
		id, ok := c.uploadProgram(r, u, f)
		if ok {
			in["program_id"] = id
		}
	} else {
		in["text"] = r.FormValue("text") // as written: line breaks are the author's
		f.Values["text"] = r.FormValue("text")
	}
	if len(f.Errors) > 0 {
		c.showCompose(w, r, u, http.StatusBadRequest, f)
		return
	}
	ans := c.callJSON(r, u.token, "POST", "/api/v1/announcements", in)
	if !ans.OK() {
		f.apiFailed(ans, composeFields...)
		if e := ans.Err(); e.Field == "program_id" {
			f.fail("audio", e.Error)
		}
		c.showCompose(w, r, u, ans.Status, f)
		return
	}
	var a struct {
		ID int64 `json:"id"`
	}
	if err := ans.Decode(&a); err != nil {
		c.renderError(w, r, u, http.StatusInternalServerError, "系统内部错误，请联系管理员")
		return
	}
	id := strconv.FormatInt(a.ID, 10)
	if sub := c.call(r, u.token, "POST", "/api/v1/announcements/"+id+"/submit", "application/json", nil); !sub.OK() {
		c.renderError(w, r, u, sub.Status, "公告已保存为草稿，但提交审核失败："+sub.Err().Error)
		return
	}
	http.Redirect(w, r, "/review?submitted="+id, http.StatusSeeOther)
}

// ttsPreview speaks the text being written, for the browser to play (POST /api/v1/tts/preview).
func (c *Console) ttsPreview(w http.ResponseWriter, r *http.Request, u user) {
	ans := c.callJSON(r, u.token, "POST", "/api/v1/tts/preview", map[string]string{"text": r.FormValue("text")})
	if !ans.OK() {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(ans.Status)
		w.Write([]byte(ans.Err().Error))
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(ans.Body)
}
