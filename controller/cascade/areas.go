package cascade

import (
	"fmt"
	"regexp"
	"strings"

	"dalaba/controller/inventory"
	"dalaba/proto/wire"
)

// Region codes are the 12-digit statistical division codes: 2 province, 2 city, 2 county,
// 3 town, 3 village; a level above the village ends in zeros. A 15-digit code is a group
// (village code + 3 digits), the common local extension.
var reArea = regexp.MustCompile(`^([0-9]{12}|[0-9]{15})$`)

// Area is a parsed region code: Prefix is the part that names it (its level's digits).
type Area struct {
	Code   string
	Prefix string
}

func parseArea(code string) (Area, error) {
	code = strings.TrimSpace(code)
	if !reArea.MatchString(code) {
		return Area{}, fmt.Errorf("area code %q: want a 12-digit region code (or 15-digit group code)", code)
	}
	if len(code) == 15 {
		return Area{Code: code, Prefix: code}, nil
	}
	p := code
	for _, cut := range []struct{ keep, end int }{{9, 12}, {6, 9}, {4, 6}, {2, 4}} {
		if strings.Trim(p[cut.keep:cut.end], "0") != "" {
			break
		}
		p = p[:cut.keep]
	}
	if p == "00" {
		return Area{}, fmt.Errorf("area code %q names no region", code)
	}
	return Area{Code: code, Prefix: p}, nil
}

func parseAreas(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		a, err := parseArea(s)
		if err != nil {
			return nil, err
		}
		if !seen[a.Code] {
			seen[a.Code] = true
			out = append(out, a.Code)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no area code")
	}
	return out, nil
}

// Contains reports whether region a covers region b (or is it).
func (a Area) Contains(b Area) bool { return strings.HasPrefix(b.Prefix, a.Prefix) }

// Overlaps reports whether one of a and b covers the other.
func (a Area) Overlaps(b Area) bool { return a.Contains(b) || b.Contains(a) }

// Targets maps area codes onto this town's inventory: a code at or above a town the inventory
// holds covers the whole town; a village or group code its village or group. Codes that name
// nothing here come back in notOurs.
func Targets(inv *inventory.Inventory, areas []string) (byArea map[string][]wire.Address, notOurs []string) {
	byArea = map[string][]wire.Address{}
	towns := map[string]bool{}
	for _, t := range inv.Terminals() {
		towns[t.TownCode] = true
	}
	for _, code := range areas {
		a, err := parseArea(code)
		if err != nil {
			notOurs = append(notOurs, code)
			continue
		}
		var hits []wire.Address
		switch len(a.Prefix) {
		case 12:
			hits = present(inv, wire.Address{Tier: wire.TierVillage, Code: a.Code})
		case 15:
			hits = present(inv, wire.Address{Tier: wire.TierGroup, Code: a.Code})
		default:
			for town := range towns {
				if strings.HasPrefix(town, a.Prefix) {
					hits = append(hits, wire.Address{Tier: wire.TierTown, Code: town})
				}
			}
		}
		if len(hits) == 0 {
			notOurs = append(notOurs, code)
			continue
		}
		byArea[code] = hits
	}
	return byArea, notOurs
}

func present(inv *inventory.Inventory, a wire.Address) []wire.Address {
	if len(inv.Under(a)) == 0 {
		return nil
	}
	return []wire.Address{a}
}
