package web

import (
	"net/http"
	"net/url"

	"dalaba/controller/api"
	"dalaba/controller/receipts"
)

// report is a broadcast's report as GET /api/v1/broadcasts/{id} answers it.
type report struct {
	api.ReportJSON
	Places places `json:"-"` // names of the targets, for the page's head
}

// Open reports whether the broadcast may still change: the page keeps polling.
func (r report) Open() bool { return r.State != "finished" && r.State != "cancelled" }

// StateName is the broadcast's state in Chinese.
func (r report) StateName() string {
	if n, ok := map[string]string{"active": "播出中", "finished": "已完成", "cancelled": "已取消"}[r.State]; ok {
		return n
	}
	return r.State
}

// Done is how many terminals played to the end, of Total.
func (r report) Done() int  { return r.Counts[receipts.Done] }
func (r report) Total() int { return len(r.Receipts) }

func (c *Console) broadcasts(w http.ResponseWriter, r *http.Request, u user) {
	var list []report // the list's items are reports' first fields
	if ans := c.get(r, u, "/api/v1/broadcasts", &list); !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	c.render(w, r, "broadcasts", u, list)
}

func (c *Console) loadReport(r *http.Request, u user) (report, answer) {
	var rep report
	ans := c.get(r, u, "/api/v1/broadcasts/"+url.PathEscape(r.PathValue("id")), &rep)
	return rep, ans
}

// report shows a broadcast's coverage per village and the horns that did not play; the page
// polls reportLive while the broadcast is open, so receipts show as they arrive.
func (c *Console) report(w http.ResponseWriter, r *http.Request, u user) {
	rep, ans := c.loadReport(r, u)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	ts, ans := c.terminals(r, u)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	rep.Places = placesOf(ts)
	c.render(w, r, "report", u, rep)
}

// reportLive is the report's changing part alone, for the page's script.
func (c *Console) reportLive(w http.ResponseWriter, r *http.Request, u user) {
	rep, ans := c.loadReport(r, u)
	if !ans.OK() {
		http.Error(w, ans.Err().Error, ans.Status)
		return
	}
	c.renderTemplate(w, http.StatusOK, "report", "live", u, rep)
}

// asPlayed passes the as-played log (播出记录) through as the API writes it.
func (c *Console) asPlayed(w http.ResponseWriter, r *http.Request, u user) {
	id := r.PathValue("id")
	ans := c.call(r, u.token, "GET", "/api/v1/broadcasts/"+url.PathEscape(id)+"/as-played.csv", "", nil)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	for _, h := range []string{"Content-Type", "Content-Disposition"} {
		if v := ans.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Write(ans.Body)
}

// cancel stops a broadcast (an emergency's end, or a mistake).
func (c *Console) cancel(w http.ResponseWriter, r *http.Request, u user) {
	id := r.PathValue("id")
	ans := c.call(r, u.token, "POST", "/api/v1/broadcasts/"+url.PathEscape(id)+"/cancel", "application/json", nil)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	http.Redirect(w, r, "/broadcasts/"+url.PathEscape(id), http.StatusSeeOther)
}
