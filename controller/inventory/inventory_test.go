package inventory

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"dalaba/proto/wire"
)

func townAddr(code string) wire.Address    { return wire.Address{Tier: wire.TierTown, Code: code} }
func villageAddr(code string) wire.Address { return wire.Address{Tier: wire.TierVillage, Code: code} }
func groupAddr(code string) wire.Address   { return wire.Address{Tier: wire.TierGroup, Code: code} }
func terminalAddr(id string) wire.Address  { return wire.Address{Tier: wire.TierTerminal, Code: id} }

// covers says, without the inventory's indexes, whether address a reaches terminal t.
func covers(a wire.Address, t Terminal) bool {
	switch a.Tier {
	case wire.TierTown:
		return t.TownCode == a.Code
	case wire.TierVillage:
		return t.VillageCode == a.Code
	case wire.TierGroup:
		return t.GroupCode == a.Code
	case wire.TierTerminal:
		return t.ID == a.Code
	}
	return false
}

func ids(ts []Terminal) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestResolve(t *testing.T) {
	inv := parseCaoxi(t)
	const (
		caoxiTown = "361126104"
		caoxiVil  = "361126104201" // 曹溪村, t001..t012
		donggang  = "361126104202" // 东港村, t013..t024
		wangjia   = "361126104202001"
		zhengjia  = "361126104202004"
	)
	tests := []struct {
		name       string
		targets    []wire.Address
		wantCount  int
		wantTopics []wire.Address
	}{
		{"town covers all", []wire.Address{townAddr(caoxiTown)}, 125, []wire.Address{townAddr(caoxiTown)}},
		{"one village", []wire.Address{villageAddr(caoxiVil)}, 12, []wire.Address{villageAddr(caoxiVil)}},
		{"smallest village", []wire.Address{villageAddr("361126104212")}, 6, []wire.Address{villageAddr("361126104212")}},
		{"one group", []wire.Address{groupAddr(zhengjia)}, 3, []wire.Address{groupAddr(zhengjia)}},
		{"one terminal", []wire.Address{terminalAddr("t013")}, 1, []wire.Address{terminalAddr("t013")}},
		{"town and a village in it", []wire.Address{villageAddr(donggang), townAddr(caoxiTown)}, 125,
			[]wire.Address{townAddr(caoxiTown)}},
		{"village and a group in it", []wire.Address{groupAddr(wangjia), villageAddr(donggang)}, 12,
			[]wire.Address{villageAddr(donggang)}},
		{"group and a terminal in it", []wire.Address{terminalAddr("t014"), groupAddr(wangjia)}, 3,
			[]wire.Address{groupAddr(wangjia)}},
		{"village and a terminal in it", []wire.Address{villageAddr(donggang), terminalAddr("t024")}, 12,
			[]wire.Address{villageAddr(donggang)}},
		{"every tier nested", []wire.Address{terminalAddr("t013"), groupAddr(wangjia), villageAddr(donggang), townAddr(caoxiTown)}, 125,
			[]wire.Address{townAddr(caoxiTown)}},
		{"two villages", []wire.Address{villageAddr(donggang), villageAddr(caoxiVil)}, 24,
			[]wire.Address{villageAddr(caoxiVil), villageAddr(donggang)}},
		{"village and a terminal elsewhere", []wire.Address{villageAddr(caoxiVil), terminalAddr("t013")}, 13,
			[]wire.Address{terminalAddr("t013"), villageAddr(caoxiVil)}},
		{"two groups of one village", []wire.Address{groupAddr(wangjia), groupAddr(zhengjia)}, 6,
			[]wire.Address{groupAddr(wangjia), groupAddr(zhengjia)}},
		{"nested and disjoint mixed", []wire.Address{villageAddr(caoxiVil), groupAddr("361126104201001"), terminalAddr("t013"),
			groupAddr(wangjia)}, 15, []wire.Address{groupAddr(wangjia), villageAddr(caoxiVil)}},
		{"same village twice", []wire.Address{villageAddr(caoxiVil), villageAddr(caoxiVil)}, 12,
			[]wire.Address{villageAddr(caoxiVil)}},
		{"same terminal three times", []wire.Address{terminalAddr("t001"), terminalAddr("t001"), terminalAddr("t001")}, 1,
			[]wire.Address{terminalAddr("t001")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := inv.Resolve(tc.targets)
			if err != nil {
				t.Fatalf("Resolve(%v): %v", tc.targets, err)
			}
			if !reflect.DeepEqual(res.Topics, tc.wantTopics) {
				t.Errorf("Topics = %v, want %v", res.Topics, tc.wantTopics)
			}
			// The terminals are exactly those any target covers, each once, sorted.
			var want []string
			for _, term := range inv.Terminals() {
				for _, a := range tc.targets {
					if covers(a, term) {
						want = append(want, term.ID)
						break
					}
				}
			}
			if got := ids(res.Terminals); !reflect.DeepEqual(got, want) {
				t.Errorf("Terminals = %v, want %v", got, want)
			}
			if len(res.Terminals) != tc.wantCount {
				t.Errorf("%d terminals, want %d", len(res.Terminals), tc.wantCount)
			}
			// Publishing on the topics delivers to each of those terminals exactly once.
			delivered := map[string]int{}
			for _, topic := range res.Topics {
				for _, term := range inv.Under(topic) {
					delivered[term.ID]++
				}
			}
			if len(delivered) != len(want) {
				t.Errorf("topics reach %d terminals, want %d", len(delivered), len(want))
			}
			for _, id := range want {
				if delivered[id] != 1 {
					t.Errorf("terminal %s gets the command %d times over topics %v", id, delivered[id], res.Topics)
				}
			}
		})
	}
}

func TestResolveUnknown(t *testing.T) {
	inv := parseCaoxi(t)
	tests := []struct {
		name    string
		targets []wire.Address
		unknown wire.Address
	}{
		{"unknown village", []wire.Address{villageAddr("361126104299")}, villageAddr("361126104299")},
		{"unknown group", []wire.Address{groupAddr("361126104201099")}, groupAddr("361126104201099")},
		{"unknown terminal", []wire.Address{terminalAddr("t999")}, terminalAddr("t999")},
		{"unknown town", []wire.Address{townAddr("361126105")}, townAddr("361126105")},
		{"village code under the town tier", []wire.Address{townAddr("361126104201")}, townAddr("361126104201")},
		{"terminal id under the village tier", []wire.Address{villageAddr("t001")}, villageAddr("t001")},
		{"unknown after known ones", []wire.Address{townAddr("361126104"), terminalAddr("t001"), villageAddr("361126104213")},
			villageAddr("361126104213")},
		{"unknown tier", []wire.Address{{Tier: "county", Code: "361126"}}, wire.Address{Tier: "county", Code: "361126"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := inv.Resolve(tc.targets)
			var ue *UnknownAddressError
			if !errors.As(err, &ue) {
				t.Fatalf("Resolve(%v) = %+v, %v; want *UnknownAddressError", tc.targets, res, err)
			}
			if ue.Address != tc.unknown {
				t.Errorf("UnknownAddressError.Address = %v, want %v", ue.Address, tc.unknown)
			}
			if !strings.Contains(err.Error(), tc.unknown.String()) {
				t.Errorf("message %q does not name %s", err, tc.unknown)
			}
			if len(res.Terminals) != 0 || len(res.Topics) != 0 {
				t.Errorf("a failed Resolve returned %+v", res)
			}
		})
	}
}

func TestUnder(t *testing.T) {
	inv := parseCaoxi(t)
	for _, a := range append(inv.Villages(), townAddr("361126104"), groupAddr("361126104202004"), terminalAddr("t125")) {
		var want []string
		for _, term := range inv.Terminals() {
			if covers(a, term) {
				want = append(want, term.ID)
			}
		}
		got := ids(inv.Under(a))
		sort.Strings(got)
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("Under(%v) = %v, want %v", a, got, want)
		}
	}
	if got := inv.Under(villageAddr("361126104299")); len(got) != 0 {
		t.Errorf("Under(unknown village) = %v, want none", got)
	}
	var total int
	for _, v := range inv.Villages() {
		total += len(inv.Under(v))
	}
	if total != 125 {
		t.Errorf("the villages hold %d terminals together, want 125", total)
	}
}

// New copies and sorts its input: the caller's slice is not the inventory's.
func TestNewCopiesAndSorts(t *testing.T) {
	base := parseCaoxi(t).Terminals()
	in := []Terminal{base[2], base[0], base[1]}
	inv := New(in)
	in[0].ID = "changed"
	if got := ids(inv.Terminals()); !reflect.DeepEqual(got, []string{"t001", "t002", "t003"}) {
		t.Errorf("Terminals() = %v, want t001 t002 t003", got)
	}
	if _, ok := inv.Terminal("changed"); ok {
		t.Errorf("changing the caller's slice changed the inventory")
	}
}

func TestTerminalAddresses(t *testing.T) {
	term, ok := parseCaoxi(t).Terminal("t020")
	if !ok {
		t.Fatal("t020 missing")
	}
	want := [4]wire.Address{townAddr("361126104"), villageAddr("361126104202"), groupAddr("361126104202004"), terminalAddr("t020")}
	if got := term.Addresses(); got != want {
		t.Errorf("Addresses() = %v, want %v", got, want)
	}
}
