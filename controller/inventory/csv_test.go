package inventory

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dalaba/proto/wire"
)

// caoxiPath is the real site fixture: 125 terminals of 曹溪镇 in 12 villages and 56 groups.
var caoxiPath = filepath.Join("..", "..", "testdata", "caoxi-terminals.csv")

func readCaoxi(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(caoxiPath)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func parseCaoxi(t testing.TB) *Inventory {
	t.Helper()
	inv, err := Parse(bytes.NewReader(readCaoxi(t)))
	if err != nil {
		t.Fatalf("Parse(%s): %v", caoxiPath, err)
	}
	return inv
}

func TestParseCaoxi(t *testing.T) {
	inv := parseCaoxi(t)

	if got := inv.Len(); got != 125 {
		t.Errorf("Len() = %d, want 125", got)
	}
	if got := len(inv.Terminals()); got != 125 {
		t.Errorf("len(Terminals()) = %d, want 125", got)
	}
	towns, villages, groups := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, term := range inv.Terminals() {
		if i > 0 && inv.Terminals()[i-1].ID >= term.ID {
			t.Errorf("Terminals() not sorted by ID: %s before %s", inv.Terminals()[i-1].ID, term.ID)
		}
		towns[term.TownCode] = true
		villages[term.VillageCode] = true
		groups[term.GroupCode] = true
	}
	if len(towns) != 1 || !towns["361126104"] {
		t.Errorf("towns = %v, want only 361126104", towns)
	}
	if len(villages) != 12 {
		t.Errorf("%d distinct village codes, want 12", len(villages))
	}
	if len(groups) != 56 {
		t.Errorf("%d distinct group codes, want 56", len(groups))
	}

	vs := inv.Villages()
	if len(vs) != 12 {
		t.Fatalf("Villages() has %d entries, want 12: %v", len(vs), vs)
	}
	for i, v := range vs {
		if v.Tier != wire.TierVillage {
			t.Errorf("Villages()[%d] = %v, want tier village", i, v)
		}
		if i > 0 && vs[i-1].Code >= v.Code {
			t.Errorf("Villages() not sorted: %s before %s", vs[i-1].Code, v.Code)
		}
	}
	if vs[0].Code != "361126104201" || vs[11].Code != "361126104212" {
		t.Errorf("Villages() runs %s..%s, want 361126104201..361126104212", vs[0].Code, vs[11].Code)
	}

	names := []struct {
		addr wire.Address
		want string
	}{
		{wire.Address{Tier: wire.TierTown, Code: "361126104"}, "曹溪镇"},
		{wire.Address{Tier: wire.TierVillage, Code: "361126104201"}, "曹溪村"},
		{wire.Address{Tier: wire.TierVillage, Code: "361126104202"}, "东港村"},
		{wire.Address{Tier: wire.TierVillage, Code: "361126104212"}, "曹溪林场"},
		{wire.Address{Tier: wire.TierGroup, Code: "361126104201001"}, "杨家坪"},
		{wire.Address{Tier: wire.TierGroup, Code: "361126104202004"}, "郑家岭"},
		{wire.Address{Tier: wire.TierVillage, Code: "361126104299"}, ""}, // not in the site
	}
	for _, n := range names {
		if got := inv.Name(n.addr); got != n.want {
			t.Errorf("Name(%v) = %q, want %q", n.addr, got, n.want)
		}
	}

	t001, ok := inv.Terminal("t001")
	want := Terminal{ID: "t001", ResourceCode: "070136112610420101", TownCode: "361126104", TownName: "曹溪镇",
		VillageCode: "361126104201", VillageName: "曹溪村", GroupCode: "361126104201001", GroupName: "杨家坪",
		Latitude: 28.42929, Longitude: 117.35199}
	if !ok || t001 != want {
		t.Errorf("Terminal(t001) = %+v, %v; want %+v, true", t001, ok, want)
	}
	if t125, ok := inv.Terminal("t125"); !ok || t125.VillageCode != "361126104212" {
		t.Errorf("Terminal(t125) = %+v, %v; want a terminal of village 361126104212", t125, ok)
	}
	for _, id := range []string{"t000", "t126", "", "T001", "361126104201"} {
		if got, ok := inv.Terminal(id); ok {
			t.Errorf("Terminal(%q) = %+v, true; want not found", id, got)
		}
	}
}

func TestParseAcceptsBOM(t *testing.T) {
	in := append([]byte("\ufeff"), readCaoxi(t)...)
	inv, err := Parse(bytes.NewReader(in))
	if err != nil {
		t.Fatalf("Parse with a UTF-8 BOM: %v", err)
	}
	if inv.Len() != 125 {
		t.Errorf("Len() = %d, want 125", inv.Len())
	}
}

// A valid row of the Caoxi shape, and a helper to build rows that differ in one field.
var goodRow = []string{"t1", "070136112610420101", "361126104", "曹溪镇", "361126104201", "曹溪村",
	"361126104201001", "杨家坪", "28.42929", "117.35199"}

const (
	colID = iota
	colResource
	colTown
	colTownName
	colVillage
	colVillageName
	colGroup
	colGroupName
	colLat
	colLon
)

// row returns goodRow with the given column/value pairs replaced, as one CSV line.
func row(kv ...any) string {
	r := append([]string(nil), goodRow...)
	for i := 0; i < len(kv); i += 2 {
		r[kv[i].(int)] = kv[i+1].(string)
	}
	return strings.Join(r, ",") + "\n"
}

var header = strings.Join(Header, ",") + "\n"

// row2 is a second valid terminal that conflicts with goodRow in nothing.
var row2 = row(colID, "t2", colResource, "070136112610420102")

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  []string // substrings the message must contain
	}{
		{"wrong header name", strings.Replace(header, "terminal_id", "terminal", 1) + row(), 1,
			[]string{"column 1", `"terminal"`, `"terminal_id"`}},
		{"header columns swapped", strings.Replace(header, "latitude,longitude", "longitude,latitude", 1) + row(), 1,
			[]string{"column 9", `"longitude"`, `want "latitude"`}},
		{"header missing a column", strings.Replace(header, ",longitude", "", 1) + row(), 1,
			[]string{"wrong number of fields"}},
		{"row with a field too few", header + row() + strings.TrimSuffix(row2, ",117.35199\n") + "\n", 3,
			[]string{"wrong number of fields"}},
		{"row with a field too many", header + row() + row2 + "t3,070136112610420103,361126104,曹溪镇,361126104201,曹溪村,361126104201001,杨家坪,28.4,117.3,extra\n", 4,
			[]string{"wrong number of fields"}},
		{"id with a space", header + row(colID, "t 1"), 2, []string{"terminal_id", `"t 1"`}},
		{"id with a slash", header + row(colID, "t/1"), 2, []string{"terminal_id", `"t/1"`}},
		{"id with a topic wildcard", header + row(colID, "t+"), 2, []string{"terminal_id", `"t+"`}},
		{"id too long", header + row(colID, strings.Repeat("x", 65)), 2, []string{"terminal_id", "1-64"}},
		{"empty id", header + row(colID, ""), 2, []string{"terminal_id", `""`}},
		{"resource code 17 digits", header + row(colResource, "07013611261042010"), 2,
			[]string{"resource_code", `"07013611261042010"`, "18 digits"}},
		{"resource code 19 digits", header + row(colResource, "0701361126104201011"), 2,
			[]string{"resource_code", "18 digits"}},
		{"resource code with a letter", header + row(colResource, "07013611261042010A"), 2,
			[]string{"resource_code", "18 digits"}},
		{"town code 8 digits", header + row(colTown, "36112610"), 2, []string{"town_code", `"36112610"`, "9 digits"}},
		{"town code 10 digits", header + row(colTown, "3611261040"), 2, []string{"town_code", "9 digits"}},
		{"village code 11 digits", header + row(colVillage, "36112610420"), 2,
			[]string{"village_code", `"36112610420"`, "12 digits"}},
		{"village code 13 digits", header + row(colVillage, "3611261042010", colGroup, "361126104201001"), 2,
			[]string{"village_code", "12 digits"}},
		{"group code 14 digits", header + row(colGroup, "36112610420100"), 2,
			[]string{"group_code", `"36112610420100"`, "15 digits"}},
		{"group code 16 digits", header + row(colGroup, "3611261042010011"), 2, []string{"group_code", "15 digits"}},
		{"village not inside town", header + row(colVillage, "361126105201", colGroup, "361126105201001"), 2,
			[]string{"village_code 361126105201", "not inside town 361126104"}},
		{"group not inside village", header + row(colGroup, "361126104202001"), 2,
			[]string{"group_code 361126104202001", "not inside village 361126104201"}},
		{"empty town name", header + row(colTownName, ""), 2, []string{"names must not be empty"}},
		{"empty village name", header + row(colVillageName, ""), 2, []string{"names must not be empty"}},
		{"blank group name", header + row(colGroupName, "   "), 2, []string{"names must not be empty"}},
		{"latitude above 90", header + row(colLat, "90.5"), 2, []string{"latitude", `"90.5"`, "between -90 and 90"}},
		{"latitude below -90", header + row(colLat, "-91"), 2, []string{"latitude", `"-91"`}},
		{"latitude not a number", header + row(colLat, "北纬28"), 2, []string{"latitude", `"北纬28"`, "must be a number"}},
		{"latitude empty", header + row(colLat, ""), 2, []string{"latitude", `""`}},
		{"latitude NaN", header + row(colLat, "NaN"), 2, []string{"latitude", `"NaN"`}},
		{"latitude infinite", header + row(colLat, "Inf"), 2, []string{"latitude", `"Inf"`}},
		{"longitude above 180", header + row(colLon, "180.001"), 2, []string{"longitude", "between -180 and 180"}},
		{"longitude NaN", header + row(colLon, "nan"), 2, []string{"longitude", `"nan"`}},
		{"duplicate terminal_id", header + row() + row2 + row(colResource, "070136112610420109"), 4,
			[]string{"duplicate terminal_id t1", "first on line 2"}},
		{"duplicate resource_code", header + row() + row2 + row(colID, "t3", colResource, "070136112610420102"), 4,
			[]string{"duplicate resource_code 070136112610420102", "first on line 3"}},
		{"one village code, two names", header + row() + row(colID, "t2", colResource, "070136112610420102",
			colVillageName, "东港村"), 3, []string{"code 361126104201", `"东港村"`, `"曹溪村"`, "line 2"}},
		{"one group code, two names", header + row() + row2 + row(colID, "t3", colResource, "070136112610420103",
			colGroupName, "程家岭"), 4, []string{"code 361126104201001", `"程家岭"`, `"杨家坪"`, "line 2"}},
		{"one town code, two names", header + row() + row(colID, "t2", colResource, "070136112610420102",
			colTownName, "曹溪乡"), 3, []string{"code 361126104 ", `"曹溪乡"`, `"曹溪镇"`, "line 2"}},
		{"unterminated quote", header + row() + `t2,"070136112610420102,361126104,曹溪镇,361126104201,曹溪村,361126104201001,杨家坪,28.4,117.3` + "\n" + row(colID, "t3", colResource, "070136112610420103") + row(colID, "t4", colResource, "070136112610420104"), 3,
			[]string{`"`, "quoted-field"}},
		{"quote inside an unquoted first field", header + row() + row(colID, `t"2`, colResource, "070136112610420102"), 3,
			[]string{"bare"}},
		{"text after a closing quote", header + row() + row(colID, `"t2"x`, colResource, "070136112610420102"), 3,
			[]string{"quoted-field"}},
		// A quoted name may span lines; the rows after it keep their true line numbers.
		{"error after a multi-line record", header + row(colGroup, "361126104201002", colGroupName, "\"程家\n岭\"") + row2 +
			row(colID, "t3", colResource, "070136112610420103", colTown, "x"), 5, []string{"town_code", `"x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Parse(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d terminals, want an error on line %d", inv.Len(), tc.line)
			}
			if inv != nil {
				t.Errorf("Parse returned an inventory along with the error %v", err)
			}
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T) is not a *RowError", err, err)
			}
			if re.Line != tc.line {
				t.Errorf("RowError.Line = %d, want %d (error: %v)", re.Line, tc.line, err)
			}
			msg := err.Error()
			for _, s := range tc.msg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not contain %q", msg, s)
				}
			}
		})
	}
}

// A problem deep in the real file is reported on its true line, also with CRLF line ends.
func TestParseFixtureErrorLine(t *testing.T) {
	lines := strings.SplitAfter(string(readCaoxi(t)), "\n")
	if !strings.HasSuffix(lines[0], "\r\n") {
		t.Fatalf("fixture is expected to use CRLF line ends")
	}
	tests := []struct {
		name    string
		line    int // 1-based
		replace func(fields []string)
		msg     string
	}{
		{"bad resource code", 60, func(f []string) { f[colResource] = f[colResource][:17] }, "resource_code"},
		{"duplicate id of t001", 126, func(f []string) { f[colID] = "t001" }, "duplicate terminal_id t001 (first on line 2)"},
		{"group moved to another village", 100, func(f []string) { f[colGroup] = "361126104201" + f[colGroup][12:] },
			"not inside village"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ls := append([]string(nil), lines...)
			fields := strings.Split(strings.TrimSuffix(ls[tc.line-1], "\r\n"), ",")
			tc.replace(fields)
			ls[tc.line-1] = strings.Join(fields, ",") + "\r\n"
			_, err := Parse(strings.NewReader(strings.Join(ls, "")))
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("Parse = %v, want a *RowError", err)
			}
			if re.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse = %v (line %d), want line %d naming %q", err, re.Line, tc.line, tc.msg)
			}
		})
	}
}

// Files with no terminals at all have no line to blame; they still say what is missing.
func TestParseNoTerminals(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  string
	}{
		{"empty file", "", "inventory is empty"},
		{"blank lines only", "\n\r\n\n", "inventory is empty"},
		{"header only", header, "header but no terminals"},
		{"BOM and header only", "\ufeff" + header, "header but no terminals"},
		{"header and blank lines", header + "\n\n", "header but no terminals"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Parse(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d terminals, want an error", inv.Len())
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse = %v, want a message containing %q", err, tc.msg)
			}
		})
	}
	// The empty-file message tells what the header should be.
	_, err := Parse(strings.NewReader(""))
	if err == nil || !strings.Contains(err.Error(), strings.Join(Header, ",")) {
		t.Errorf("Parse(empty) = %v, want the required header in the message", err)
	}
}

// Spaces around fields are trimmed, and a quoted field may hold a comma.
func TestParseTrimsAndQuotes(t *testing.T) {
	in := header + ` t1 , 070136112610420101 ,361126104,曹溪镇,361126104201,曹溪村,361126104201001,"杨家坪,上",  28.5 ,-117.25` + "\n"
	inv, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got, ok := inv.Terminal("t1")
	if !ok {
		t.Fatalf("Terminal(t1) not found in %+v", inv.Terminals())
	}
	if got.ResourceCode != "070136112610420101" || got.GroupName != "杨家坪,上" || got.Latitude != 28.5 || got.Longitude != -117.25 {
		t.Errorf("Terminal(t1) = %+v", got)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// A read error surfaces as itself, never as a partial inventory.
func TestParseReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	inv, err := Parse(&failingReader{data: []byte(header + row() + "t2,0701"), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Parse = %v, %v; want the reader's error", inv, err)
	}
}

func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, never return both an
// inventory and an error, and whatever it accepts must hold the documented invariants.
func FuzzParse(f *testing.F) {
	fixture := readCaoxi(f)
	lines := strings.SplitAfter(string(fixture), "\n")
	f.Add(fixture)
	f.Add([]byte(strings.Join(lines[:4], "")))
	f.Add([]byte("\ufeff" + strings.Join(lines[:2], "")))
	f.Add([]byte(header + row() + row2))
	f.Add([]byte(""))
	f.Add([]byte(header))
	f.Add([]byte(header + row(colLat, "NaN")))
	f.Add([]byte(header + row() + row(colID, `t"2`)))
	f.Add([]byte(header + row() + `t2,"0701` + "\n"))
	f.Add([]byte(header + row() + row(colResource, "070136112610420102")))
	f.Add([]byte(header + row(colGroup, "361126104202001")))
	f.Add([]byte(header + row() + row(colID, "t2", colResource, "070136112610420102", colVillageName, "东港村")))

	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse(bytes.NewReader(data))
		if err != nil {
			if inv != nil {
				t.Fatalf("Parse returned an inventory and the error %v", err)
			}
			var re *RowError
			if errors.As(err, &re) {
				if maxLine := bytes.Count(data, []byte("\n")) + 1; re.Line < 1 || re.Line > maxLine {
					t.Fatalf("RowError.Line = %d outside the input's %d lines: %v", re.Line, maxLine, err)
				}
			}
			return
		}
		if inv.Len() == 0 || inv.Len() != len(inv.Terminals()) {
			t.Fatalf("accepted inventory has Len %d and %d terminals", inv.Len(), len(inv.Terminals()))
		}
		resources := map[string]string{}
		names := map[string]string{}
		for i, term := range inv.Terminals() {
			if i > 0 && inv.Terminals()[i-1].ID >= term.ID {
				t.Fatalf("terminal ids not unique and sorted: %q then %q", inv.Terminals()[i-1].ID, term.ID)
			}
			if term.ID == "" || len(term.ID) > 64 || strings.ContainsAny(term.ID, "/+#: \t\r\n") {
				t.Fatalf("terminal id %q is not a safe topic level", term.ID)
			}
			if got, ok := inv.Terminal(term.ID); !ok || got != term {
				t.Fatalf("Terminal(%q) = %+v, %v", term.ID, got, ok)
			}
			if !allDigits(term.ResourceCode, 18) {
				t.Fatalf("resource code %q is not 18 digits", term.ResourceCode)
			}
			if other, dup := resources[term.ResourceCode]; dup {
				t.Fatalf("resource code %s on %s and %s", term.ResourceCode, other, term.ID)
			}
			resources[term.ResourceCode] = term.ID
			if !allDigits(term.TownCode, 9) || !allDigits(term.VillageCode, 12) || !allDigits(term.GroupCode, 15) ||
				!strings.HasPrefix(term.VillageCode, term.TownCode) || !strings.HasPrefix(term.GroupCode, term.VillageCode) {
				t.Fatalf("codes of %s do not nest: town %q village %q group %q", term.ID, term.TownCode, term.VillageCode, term.GroupCode)
			}
			if term.TownName == "" || term.VillageName == "" || term.GroupName == "" {
				t.Fatalf("terminal %s has an empty place name: %+v", term.ID, term)
			}
			for code, name := range map[string]string{term.TownCode: term.TownName, term.VillageCode: term.VillageName, term.GroupCode: term.GroupName} {
				if prev, ok := names[code]; ok && prev != name {
					t.Fatalf("code %s named both %q and %q", code, prev, name)
				}
				names[code] = name
			}
			if !(term.Latitude >= -90 && term.Latitude <= 90) || !(term.Longitude >= -180 && term.Longitude <= 180) {
				t.Fatalf("terminal %s at (%v, %v) is off the globe", term.ID, term.Latitude, term.Longitude)
			}
		}
		// Resolving every town reaches every terminal exactly once.
		towns := map[string]bool{}
		var targets []wire.Address
		for _, term := range inv.Terminals() {
			if !towns[term.TownCode] {
				towns[term.TownCode] = true
				targets = append(targets, wire.Address{Tier: wire.TierTown, Code: term.TownCode})
			}
		}
		res, err := inv.Resolve(targets)
		if err != nil || len(res.Terminals) != inv.Len() || len(res.Topics) != len(towns) {
			t.Fatalf("Resolve(all towns) = %d terminals, %d topics, %v; want %d, %d",
				len(res.Terminals), len(res.Topics), err, inv.Len(), len(towns))
		}
	})
}
