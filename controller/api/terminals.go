package api

import (
	"net/http"
	"time"

	"dalaba/controller/review"
)

// TerminalJSON is a terminal as GET /api/v1/terminals answers it.
type TerminalJSON struct {
	ID           string     `json:"id"`
	ResourceCode string     `json:"resource_code"`
	TownCode     string     `json:"town_code"`
	TownName     string     `json:"town_name"`
	VillageCode  string     `json:"village_code"`
	VillageName  string     `json:"village_name"`
	GroupCode    string     `json:"group_code"`
	GroupName    string     `json:"group_name"`
	Latitude     float64    `json:"latitude"`
	Longitude    float64    `json:"longitude"`
	Online       bool       `json:"online"`
	LastSeen     *time.Time `json:"last_seen"`
	Version      string     `json:"agent_version,omitempty"`
	TerminalHealthJSON
}

// listTerminals answers the terminals inside the caller's scope.
func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request, u review.User) {
	out := []TerminalJSON{}
	for _, t := range s.Inventory().Terminals() {
		if !seesTerminal(u, t) {
			continue
		}
		i := len(out)
		p := s.Presence.Get(t.ID)
		out = append(out, TerminalJSON{ID: t.ID, ResourceCode: t.ResourceCode, TownCode: t.TownCode, TownName: t.TownName,
			VillageCode: t.VillageCode, VillageName: t.VillageName, GroupCode: t.GroupCode, GroupName: t.GroupName,
			Latitude: t.Latitude, Longitude: t.Longitude, Online: p.Online, Version: p.Version})
		out[i].TerminalHealthJSON = s.terminalHealth(t.ID, p.Online)
		if !p.LastSeen.IsZero() {
			seen := p.LastSeen
			out[i].LastSeen = &seen
		}
	}
	writeJSON(w, http.StatusOK, out)
}
