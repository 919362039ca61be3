package web

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"

	"dalaba/controller/api"
)

// terminal is a terminal as GET /api/v1/terminals answers it.
type terminal struct{ api.TerminalJSON }

// State is what staff see first: 故障 over 播放中 over 在线/离线.
func (t terminal) State() string {
	switch {
	case len(t.Faults) > 0 || t.WorkState == "fault":
		return "fault"
	case !t.Online:
		return "offline"
	case t.WorkState == "playing":
		return "playing"
	}
	return "online"
}

// StateName is State in Chinese.
func (t terminal) StateName() string {
	return map[string]string{"fault": "故障", "offline": "离线", "playing": "播放中", "online": "在线"}[t.State()]
}

// counts of a node of the tree.
type counts struct{ Total, Online, Playing, Fault int }

func (c *counts) add(t terminal) {
	c.Total++
	if t.Online {
		c.Online++
	}
	switch t.State() {
	case "playing":
		c.Playing++
	case "fault":
		c.Fault++
	}
}

// node is a town, village or group with the terminals under it.
type node struct {
	Addr, Code, Name string
	counts
	Children  []*node
	Terminals []terminal
}

// buildTree arranges terminals as town > village > group, in code order.
func buildTree(ts []terminal) []*node {
	var towns []*node
	index := map[string]*node{}
	child := func(list *[]*node, addr, code, name string) *node {
		if n, ok := index[addr]; ok {
			return n
		}
		n := &node{Addr: addr, Code: code, Name: name}
		index[addr] = n
		*list = append(*list, n)
		return n
	}
	for _, t := range ts {
		town := child(&towns, "town:"+t.TownCode, t.TownCode, t.TownName)
		village := child(&town.Children, "village:"+t.VillageCode, t.VillageCode, t.VillageName)
		group := child(&village.Children, "group:"+t.GroupCode, t.GroupCode, t.GroupName)
		group.Terminals = append(group.Terminals, t)
		for _, n := range []*node{town, village, group} {
			n.add(t)
		}
	}
	var sortAll func([]*node)
	sortAll = func(ns []*node) {
		sort.Slice(ns, func(i, j int) bool { return ns[i].Code < ns[j].Code })
		for _, n := range ns {
			sortAll(n.Children)
			sort.Slice(n.Terminals, func(i, j int) bool { return n.Terminals[i].ID < n.Terminals[j].ID })
		}
	}
	sortAll(towns)
	return towns
}

// terminals reads the terminals inside u's scope.
func (c *Console) terminals(r *http.Request, u user) ([]terminal, answer) {
	var ts []terminal
	ans := c.get(r, u, "/api/v1/terminals", &ts)
	return ts, ans
}

func (c *Console) fleet(w http.ResponseWriter, r *http.Request, u user) {
	ts, ans := c.terminals(r, u)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	c.render(w, r, "fleet", u, map[string]any{"Towns": buildTree(ts), "Map": plot(ts)})
}

// dot is a terminal placed on the map.
type dot struct {
	X, Y  string
	T     terminal
	Label string
}

// mapView is the SVG map: the terminals at their coordinates, no tiles (no internet here).
type mapView struct {
	W, H int
	Dots []dot
}

// plot projects the terminals' coordinates into a 1000-wide box, equirectangular with the
// longitude scaled by the cosine of the mean latitude, so the village's shape is kept.
func plot(ts []terminal) mapView {
	var placed []terminal
	minLat, maxLat, minLon, maxLon := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, t := range ts {
		if t.Latitude == 0 && t.Longitude == 0 {
			continue // no coordinates in the inventory
		}
		placed = append(placed, t)
		minLat, maxLat = math.Min(minLat, t.Latitude), math.Max(maxLat, t.Latitude)
		minLon, maxLon = math.Min(minLon, t.Longitude), math.Max(maxLon, t.Longitude)
	}
	if len(placed) == 0 {
		return mapView{}
	}
	kx := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	spanX, spanY := math.Max((maxLon-minLon)*kx, 1e-6), math.Max(maxLat-minLat, 1e-6)
	const w, pad = 1000.0, 20.0
	scale := (w - 2*pad) / math.Max(spanX, spanY)
	h := spanY*scale + 2*pad
	out := mapView{W: int(w), H: int(math.Ceil(h))}
	for _, t := range placed {
		x := pad + (t.Longitude-minLon)*kx*scale
		y := h - pad - (t.Latitude-minLat)*scale
		out.Dots = append(out.Dots, dot{X: fmt.Sprintf("%.1f", x), Y: fmt.Sprintf("%.1f", y), T: t,
			Label: fmt.Sprintf("%s %s %s：%s", t.ID, t.VillageName, t.GroupName, t.StateName())})
	}
	return out
}

// places names every address of the terminals' tree for staff: 曹溪镇, 曹溪村, 曹溪村杨家坪,
// t001（曹溪村杨家坪）.
type places map[string]string

func placesOf(ts []terminal) places {
	p := places{}
	for _, t := range ts {
		p["town:"+t.TownCode] = t.TownName
		p["village:"+t.VillageCode] = t.VillageName
		p["group:"+t.GroupCode] = t.VillageName + t.GroupName
		p["terminal:"+t.ID] = t.ID + "（" + t.VillageName + t.GroupName + "）"
	}
	return p
}

// Of names comma-separated targets; an address outside the tree stays as it is.
func (p places) Of(targets string) string {
	var names []string
	for _, a := range strings.Split(targets, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if n, ok := p[a]; ok {
			a = n
		}
		names = append(names, a)
	}
	return strings.Join(names, "、")
}
