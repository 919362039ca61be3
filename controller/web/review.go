package web

import (
	"net/http"
	"strconv"

	"dalaba/controller/review"
)

// reviewErrors are the messages of a refused decision, on the announcement it was about.
type reviewErrors struct {
	ID     int64
	Errors map[string]string
}

func (c *Console) reviewQueue(w http.ResponseWriter, r *http.Request, u user) {
	c.showQueue(w, r, u, http.StatusOK, reviewErrors{Errors: map[string]string{}})
}

func (c *Console) showQueue(w http.ResponseWriter, r *http.Request, u user, code int, failed reviewErrors) {
	lists := map[string][]review.Announcement{}
	for _, state := range []string{"submitted", "approved", "rejected"} {
		var list []review.Announcement
		if ans := c.get(r, u, "/api/v1/announcements?state="+state+"&limit=50", &list); !ans.OK() {
			c.apiFailed(w, r, u, ans)
			return
		}
		lists[state] = list
	}
	ts, ans := c.terminals(r, u)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	c.renderStatus(w, r, code, "review", u, map[string]any{"Lists": lists, "Failed": failed, "Places": placesOf(ts),
		"Submitted": r.URL.Query().Get("submitted")})
}

// decide approves, rejects or publishes announcement {id}: the API decides who may.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, u user) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.renderError(w, r, u, http.StatusNotFound, "找不到该公告")
		return
	}
	path := "/api/v1/announcements/" + strconv.FormatInt(id, 10) + "/"
	action := r.PathValue("action")
	var ans answer
	switch action {
	case "approve", "reject":
		rev, _ := strconv.Atoi(r.FormValue("revision")) // a missing revision is the API's to refuse
		ack := r.Form["acknowledge"]
		if ack == nil {
			ack = []string{}
		}
		ans = c.callJSON(r, u.token, "POST", path+action, map[string]any{"revision": rev,
			"comment": r.FormValue("comment"), "acknowledge": ack})
	case "publish":
		ans = c.call(r, u.token, "POST", path+"publish", "application/json", nil)
		if ans.OK() {
			var pub struct {
				BroadcastID string `json:"broadcast_id"`
			}
			if err := ans.Decode(&pub); err == nil {
				http.Redirect(w, r, "/broadcasts/"+pub.BroadcastID, http.StatusSeeOther)
				return
			}
		}
	default:
		c.renderError(w, r, u, http.StatusNotFound, "没有这个操作")
		return
	}
	if !ans.OK() {
		e := ans.Err()
		field := e.Field
		if field != "comment" && field != "acknowledge" {
			field = "form"
		}
		if len(e.Unacknowledged) > 0 {
			field = "acknowledge"
		}
		c.showQueue(w, r, u, ans.Status, reviewErrors{ID: id, Errors: map[string]string{field: e.Error}})
		return
	}
	http.Redirect(w, r, "/review", http.StatusSeeOther)
}
