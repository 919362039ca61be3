// Package inventory holds the township's loudspeaker terminals as a tree
// (town > village > group > terminal) and resolves tier addresses to terminals.
package inventory

import (
	"fmt"
	"sort"

	"dalaba/proto/wire"
)

// Terminal is one loudspeaker point.
type Terminal struct {
	ID           string
	ResourceCode string // 18-digit resource code (GD/J 080 shape)
	TownCode     string
	TownName     string
	VillageCode  string
	VillageName  string
	GroupCode    string
	GroupName    string
	Latitude     float64
	Longitude    float64
}

// Addresses are the four tier addresses a terminal answers to, top down.
func (t Terminal) Addresses() [4]wire.Address {
	return [4]wire.Address{
		{Tier: wire.TierTown, Code: t.TownCode},
		{Tier: wire.TierVillage, Code: t.VillageCode},
		{Tier: wire.TierGroup, Code: t.GroupCode},
		{Tier: wire.TierTerminal, Code: t.ID},
	}
}

// Inventory is an immutable, validated set of terminals indexed by every address.
type Inventory struct {
	terminals []Terminal             // sorted by ID
	byAddress map[wire.Address][]int // address -> indices into terminals
	parent    map[wire.Address]wire.Address
	names     map[wire.Address]string // town, village and group names
}

// New indexes terminals, which must already be valid (see Parse).
func New(terminals []Terminal) *Inventory {
	ts := append([]Terminal(nil), terminals...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	inv := &Inventory{
		terminals: ts,
		byAddress: make(map[wire.Address][]int),
		parent:    make(map[wire.Address]wire.Address),
		names:     make(map[wire.Address]string),
	}
	for i, t := range ts {
		addrs := t.Addresses()
		for level, a := range addrs {
			inv.byAddress[a] = append(inv.byAddress[a], i)
			if level > 0 {
				inv.parent[a] = addrs[level-1]
			}
		}
		inv.names[addrs[0]] = t.TownName
		inv.names[addrs[1]] = t.VillageName
		inv.names[addrs[2]] = t.GroupName
	}
	return inv
}

// Terminals returns every terminal, sorted by ID.
func (inv *Inventory) Terminals() []Terminal { return inv.terminals }

// Len is the number of terminals.
func (inv *Inventory) Len() int { return len(inv.terminals) }

// Terminal finds one terminal by ID.
func (inv *Inventory) Terminal(id string) (Terminal, bool) {
	idx, ok := inv.byAddress[wire.Address{Tier: wire.TierTerminal, Code: id}]
	if !ok {
		return Terminal{}, false
	}
	return inv.terminals[idx[0]], true
}

// Name is the place name of a town, village or group address.
func (inv *Inventory) Name(a wire.Address) string { return inv.names[a] }

// Villages lists every village address, sorted by code.
func (inv *Inventory) Villages() []wire.Address {
	var out []wire.Address
	for a := range inv.byAddress {
		if a.Tier == wire.TierVillage {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Under lists the terminals an address covers.
func (inv *Inventory) Under(a wire.Address) []Terminal {
	idx := inv.byAddress[a]
	out := make([]Terminal, len(idx))
	for i, j := range idx {
		out[i] = inv.terminals[j]
	}
	return out
}

// UnknownAddressError names an address that matches no terminal.
type UnknownAddressError struct{ Address wire.Address }

func (e *UnknownAddressError) Error() string {
	return fmt.Sprintf("unknown target %s: no terminal has this address", e.Address)
}

// Resolution is what a set of target addresses means for delivery.
type Resolution struct {
	// Terminals are the distinct terminals covered, sorted by ID.
	Terminals []Terminal
	// Topics are the addresses to publish to: overlapping targets are reduced to the
	// outermost ones, so each terminal receives the command exactly once.
	Topics []wire.Address
}

// Resolve turns target addresses into the terminals they cover and the topics to publish on.
func (inv *Inventory) Resolve(targets []wire.Address) (Resolution, error) {
	want := make(map[wire.Address]bool, len(targets))
	for _, a := range targets {
		if _, ok := inv.byAddress[a]; !ok {
			return Resolution{}, &UnknownAddressError{Address: a}
		}
		want[a] = true
	}
	var res Resolution
	seen := make(map[int]bool)
	for a := range want {
		if inv.hasAncestorIn(a, want) {
			continue // an outer target already reaches these terminals
		}
		res.Topics = append(res.Topics, a)
		for _, i := range inv.byAddress[a] {
			if !seen[i] {
				seen[i] = true
				res.Terminals = append(res.Terminals, inv.terminals[i])
			}
		}
	}
	sort.Slice(res.Topics, func(i, j int) bool { return res.Topics[i].String() < res.Topics[j].String() })
	sort.Slice(res.Terminals, func(i, j int) bool { return res.Terminals[i].ID < res.Terminals[j].ID })
	return res, nil
}

func (inv *Inventory) hasAncestorIn(a wire.Address, set map[wire.Address]bool) bool {
	for p, ok := inv.parent[a]; ok; p, ok = inv.parent[p] {
		if set[p] {
			return true
		}
	}
	return false
}
