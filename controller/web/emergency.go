package web

import (
	"net/http"
	"strconv"
)

// emergencyFields are the emergency form's fields; the API's error fields map onto them.
var emergencyFields = []string{"title", "text", "template", "severity", "targets", "repeat", "confirm"}

// severities are the levels of an emergency (GY/T 385: 1 red ... 4 blue).
var severities = []struct{ Level, Name, Class string }{
	{"1", "Ⅰ级 特别重大（红色）", "red"}, {"2", "Ⅱ级 重大（橙色）", "orange"}, {"3", "Ⅲ级 较大（黄色）", "yellow"}, {"4", "Ⅳ级 一般（蓝色）", "blue"},
}

func (c *Console) emergencyPage(w http.ResponseWriter, r *http.Request, u user) {
	f := newForm()
	f.Values["repeat"] = "2"
	c.showEmergency(w, r, u, http.StatusOK, f, false)
}

func (c *Console) showEmergency(w http.ResponseWriter, r *http.Request, u user, code int, f *form, confirming bool) {
	ts, ans := c.terminals(r, u)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	c.renderStatus(w, r, code, "emergency", u, map[string]any{"Towns": buildTree(ts), "Checked": f.Checked, "Errors": f.Errors,
		"Form": f, "Severities": severities, "Confirming": confirming, "TargetList": f.Targets(), "Places": placesOf(ts)})
}

// emergency takes the form twice: first it is checked and shown back for confirmation, and
// only a post with confirm=yes (the confirmation page's button) sends it.
func (c *Console) emergency(w http.ResponseWriter, r *http.Request, u user) {
	f := readForm(r, emergencyFields...)
	if f.Values["text"] == "" && f.Values["template"] == "" {
		f.fail("text", "请填写应急广播内容，或填写已审核的应急模板编号")
	}
	if f.Values["severity"] == "" {
		f.fail("severity", "请选择应急级别")
	}
	if len(f.Checked) == 0 {
		f.fail("targets", "请选择播出范围")
	}
	repeat, err := strconv.Atoi(f.Values["repeat"])
	if err != nil {
		f.fail("repeat", "重复次数须为整数")
	}
	if len(f.Errors) > 0 {
		c.showEmergency(w, r, u, http.StatusBadRequest, f, false)
		return
	}
	if f.Values["confirm"] != "yes" {
		c.showEmergency(w, r, u, http.StatusOK, f, true)
		return
	}
	severity, _ := strconv.Atoi(f.Values["severity"]) // out of range: the API's to refuse
	in := map[string]any{"title": f.Values["title"], "severity": severity, "targets": f.Targets(), "repeat": repeat}
	if f.Values["template"] != "" {
		in["template"] = f.Values["template"]
	} else {
		in["text"] = f.Values["text"]
	}
	ans := c.callJSON(r, u.token, "POST", "/api/v1/emergencies", in)
	if !ans.OK() {
		f.apiFailed(ans, emergencyFields...)
		c.showEmergency(w, r, u, ans.Status, f, false)
		return
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := ans.Decode(&out); err != nil {
		c.renderError(w, r, u, http.StatusInternalServerError, "应急广播已发出，但读取编号失败，请到播出报告查看")
		return
	}
	http.Redirect(w, r, "/broadcasts/"+out.ID, http.StatusSeeOther)
}
