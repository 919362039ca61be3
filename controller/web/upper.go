package web

import (
	"net/http"

	"dalaba/controller/api"
)

// upper lists the emergency messages the platforms above sent down: what each said, what it
// did here and how much of each area played (上级应急消息).
func (c *Console) upper(w http.ResponseWriter, r *http.Request, u user) {
	var p api.UpperMessagesJSON
	if ans := c.get(r, u, "/api/v1/upper-messages", &p); !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	c.render(w, r, "upper", u, map[string]any{"Page": p, "Severities": severities})
}
