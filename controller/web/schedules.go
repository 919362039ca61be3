package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"dalaba/controller/api"
	"dalaba/controller/review"
)

// scheduleFields are the schedule form's fields; the API's error fields map onto them.
var scheduleFields = []string{"id", "name", "announcement", "kind", "time", "at", "targets", "cron"}

// slot is one planned play of GET /api/v1/schedules/week.
type slot struct{ api.PlannedJSON }

// Time is the slot's time of day in the township.
func (s slot) Time() string { return time.UnixMilli(s.DueMs).In(shanghai).Format("15:04") }

// weekRow is one village's slots, a list per day of the week shown.
type weekRow struct {
	Name string
	Days [7][]slot
}

func (c *Console) schedules(w http.ResponseWriter, r *http.Request, u user) {
	f := newForm()
	f.Values["kind"], f.Values["time"] = "daily", "07:30"
	if id := r.URL.Query().Get("edit"); id != "" {
		var sc api.ScheduleJSON
		if ans := c.get(r, u, "/api/v1/schedules/"+url.PathEscape(id), &sc); !ans.OK() {
			c.apiFailed(w, r, u, ans)
			return
		}
		if !editForm(f, sc) {
			c.renderError(w, r, u, http.StatusConflict, "该日程的时间规则（"+sc.Cron+"）不是每周固定时间，请通过日程文件或 API 修改")
			return
		}
	}
	c.showSchedules(w, r, u, http.StatusOK, f)
}

// editForm fills the form with schedule sc, to be changed: false when its cron is more than
// a time of day on some weekdays (M H * * DOW), which the form cannot show.
func editForm(f *form, sc api.ScheduleJSON) bool {
	f.Values["id"], f.Values["name"], f.Values["announcement"] = sc.ID, sc.Name, sc.Announcement
	for _, a := range sc.To {
		f.Checked[a] = true
	}
	if sc.At != "" {
		at, err := time.Parse(time.RFC3339Nano, sc.At)
		f.Values["kind"], f.Values["at"] = "once", at.In(shanghai).Format("2006-01-02T15:04")
		return err == nil
	}
	fields := strings.Fields(sc.Cron)
	if len(fields) != 5 || fields[2] != "*" || fields[3] != "*" {
		return false
	}
	m, errM := strconv.Atoi(fields[0])
	h, errH := strconv.Atoi(fields[1])
	if errM != nil || errH != nil {
		return false
	}
	f.Values["kind"], f.Values["time"] = "daily", fmt.Sprintf("%02d:%02d", h, m)
	if fields[4] != "*" {
		for _, d := range strings.Split(fields[4], ",") {
			if n, err := strconv.Atoi(d); err != nil || n < 0 || n > 6 {
				return false
			}
			f.Days[d] = true
		}
	}
	return true
}

func (c *Console) showSchedules(w http.ResponseWriter, r *http.Request, u user, code int, f *form) {
	from := time.Now().In(shanghai)
	if v := r.URL.Query().Get("from"); v != "" {
		if t, err := time.ParseInLocation(time.DateOnly, v, shanghai); err == nil {
			from = t
		}
	}
	from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, shanghai)
	var week struct {
		Slots []slot `json:"slots"`
	}
	var list []api.ScheduleJSON
	var approved, scheduled []review.Announcement // what may be scheduled: approved, or on a schedule already
	ts, ans := c.terminals(r, u)
	for _, step := range []func() answer{
		func() answer { return ans },
		func() answer {
			return c.get(r, u, "/api/v1/schedules/week?from="+from.Format(time.DateOnly), &week)
		},
		func() answer { return c.get(r, u, "/api/v1/schedules", &list) },
		func() answer { return c.get(r, u, "/api/v1/announcements?state=approved&limit=100", &approved) },
		func() answer { return c.get(r, u, "/api/v1/announcements?state=scheduled&limit=100", &scheduled) },
	} {
		if a := step(); !a.OK() {
			c.apiFailed(w, r, u, a)
			return
		}
	}
	var days [7]string
	for i := range days {
		d := from.AddDate(0, 0, i)
		days[i] = d.Format("01-02") + " 周" + []string{"日", "一", "二", "三", "四", "五", "六"}[d.Weekday()]
	}
	anns := append(approved, scheduled...)
	titles := map[string]string{} // by id and key, as schedules name announcements
	for _, a := range anns {
		titles[strconv.FormatInt(a.ID, 10)] = a.Title
		if a.Key != "" {
			titles[a.Key] = a.Title
		}
	}
	c.renderStatus(w, r, code, "schedules", u, map[string]any{"Days": days, "Rows": weekRows(week.Slots, from, ts, anns),
		"Schedules": list, "Approved": anns, "Titles": titles, "Towns": buildTree(ts), "Checked": f.Checked, "Errors": f.Errors, "Form": f,
		"Prev": from.AddDate(0, 0, -7).Format(time.DateOnly), "Next": from.AddDate(0, 0, 7).Format(time.DateOnly)})
}

// weekRows puts each slot under the villages it plays in (a slot without targets of its own
// plays the announcement's), one list per day.
func weekRows(slots []slot, from time.Time, ts []terminal, anns []review.Announcement) []weekRow {
	villageOf := map[string]string{} // address -> village name
	var order []string
	for _, t := range ts {
		if _, ok := villageOf["village:"+t.VillageCode]; !ok {
			order = append(order, t.VillageName)
		}
		villageOf["village:"+t.VillageCode] = t.VillageName
		villageOf["group:"+t.GroupCode] = t.VillageName
		villageOf["terminal:"+t.ID] = t.VillageName
		villageOf["town:"+t.TownCode] = "全镇"
	}
	targetsOf := map[string][]string{}
	for _, a := range anns {
		targetsOf[strconv.FormatInt(a.ID, 10)] = strings.Split(a.Targets, ",")
	}
	rows := map[string]*weekRow{}
	for _, s := range slots {
		day := int(time.UnixMilli(s.DueMs).In(shanghai).Sub(from) / (24 * time.Hour))
		if day < 0 || day > 6 {
			continue
		}
		to := s.To
		if len(to) == 0 {
			to = targetsOf[s.Announcement]
		}
		if len(to) == 0 {
			to = []string{""} // an announcement this list does not have: under 其他
		}
		seen := map[string]bool{}
		for _, a := range to {
			name := villageOf[a]
			if name == "" {
				name = "其他"
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			if rows[name] == nil {
				rows[name] = &weekRow{Name: name}
			}
			rows[name].Days[day] = append(rows[name].Days[day], s)
		}
	}
	var out []weekRow
	for _, name := range append([]string{"全镇"}, append(order, "其他")...) {
		if row := rows[name]; row != nil {
			out = append(out, *row)
		}
	}
	return out
}

// saveSchedule creates a schedule: daily at a time, or once at a date and time.
func (c *Console) saveSchedule(w http.ResponseWriter, r *http.Request, u user) {
	r.ParseForm()
	f := readForm(r, scheduleFields...)
	for _, d := range r.Form["weekday"] {
		f.Days[d] = true
	}
	def := map[string]any{"name": f.Values["name"], "announcement": f.Values["announcement"], "timezone": "Asia/Shanghai"}
	if f.Values["announcement"] == "" {
		f.fail("announcement", "请选择要播出的已审核公告")
	}
	if to := f.Targets(); to != "" {
		def["to"] = strings.Split(to, ",")
	}
	switch f.Values["kind"] {
	case "once":
		if at := f.localTime("at"); !at.IsZero() {
			def["at"] = at.Format(time.RFC3339)
		} else if f.Errors["at"] == "" {
			f.fail("at", "请填写播出日期和时间")
		}
	default:
		hm, err := time.Parse("15:04", f.Values["time"])
		if err != nil {
			f.fail("time", "时间格式错误，应如 07:30")
			break
		}
		days := r.Form["weekday"]
		dow := "*"
		if len(days) > 0 && len(days) < 7 {
			dow = strings.Join(days, ",")
		}
		def["cron"] = fmt.Sprintf("%d %d * * %s", hm.Minute(), hm.Hour(), dow)
	}
	if len(f.Errors) > 0 {
		c.showSchedules(w, r, u, http.StatusBadRequest, f)
		return
	}
	method, path := "POST", "/api/v1/schedules"
	if id := f.Values["id"]; id != "" {
		method, path = "PUT", "/api/v1/schedules/"+url.PathEscape(id) // the whole definition, as created
	}
	ans := c.callJSON(r, u.token, method, path, def)
	if !ans.OK() {
		f.apiFailed(ans, scheduleFields...)
		switch e := ans.Err(); e.Field {
		case "to":
			f.fail("targets", e.Error)
		case "cron":
			f.fail("time", e.Error)
		}
		c.showSchedules(w, r, u, ans.Status, f)
		return
	}
	http.Redirect(w, r, "/schedules", http.StatusSeeOther)
}

// scheduleAction pauses, resumes or deletes a schedule.
func (c *Console) scheduleAction(w http.ResponseWriter, r *http.Request, u user) {
	id, action := r.PathValue("id"), r.PathValue("action")
	method := "POST"
	switch action {
	case "pause", "resume":
	case "delete":
		method = "DELETE"
	default:
		c.renderError(w, r, u, http.StatusNotFound, "没有这个操作")
		return
	}
	path := "/api/v1/schedules/" + url.PathEscape(id)
	if method == "POST" {
		path += "/" + action
	}
	if ans := c.call(r, u.token, method, path, "application/json", nil); !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	http.Redirect(w, r, "/schedules", http.StatusSeeOther)
}
