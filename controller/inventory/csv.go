package inventory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Header is the inventory CSV's required header, in order.
var Header = []string{"terminal_id", "resource_code", "town_code", "town_name", "village_code",
	"village_name", "group_code", "group_name", "latitude", "longitude"}

// RowError says which line of an inventory file is wrong and why.
type RowError struct {
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("inventory line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

var (
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	digits    = func(n int) *regexp.Regexp { return regexp.MustCompile(fmt.Sprintf(`^[0-9]{%d}$`, n)) }
	resource  = digits(18)
	townCode  = digits(9)
	village   = digits(12)
	group     = digits(15)
)

// Parse reads and validates a whole inventory CSV. It returns every terminal or, at the first
// problem, an error naming the line: a caller never sees a partial inventory.
func Parse(r io.Reader) (*Inventory, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(Header)
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("inventory is empty: want the header %s", strings.Join(Header, ","))
		}
		return nil, &RowError{Line: 1, Err: err}
	}
	head[0] = strings.TrimPrefix(head[0], "\ufeff") // spreadsheets save UTF-8 with a BOM
	for i, h := range Header {
		if strings.TrimSpace(head[i]) != h {
			return nil, &RowError{Line: 1, Err: fmt.Errorf("column %d is %q, want %q", i+1, head[i], h)}
		}
	}
	v := newValidator()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Report the line the record starts on, like every other row error: for an
			// unterminated quote the reader's own line is the end of the file.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &RowError{Line: pe.StartLine, Err: pe.Err}
			}
			return nil, fmt.Errorf("read inventory: %w", err)
		}
		// Only after a successful read: a record that failed in its first field has no
		// field positions, and FieldPos would panic.
		line, _ := cr.FieldPos(0)
		t, err := parseRow(rec)
		if err == nil {
			err = v.add(t, line)
		}
		if err != nil {
			return nil, &RowError{Line: line, Err: err}
		}
	}
	if len(v.terminals) == 0 {
		return nil, fmt.Errorf("inventory has a header but no terminals")
	}
	return New(v.terminals), nil
}

func parseRow(rec []string) (Terminal, error) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	t := Terminal{ID: rec[0], ResourceCode: rec[1], TownCode: rec[2], TownName: rec[3],
		VillageCode: rec[4], VillageName: rec[5], GroupCode: rec[6], GroupName: rec[7]}
	checks := []struct {
		ok   bool
		what string
	}{
		{idPattern.MatchString(t.ID), fmt.Sprintf("terminal_id %q must be 1-64 letters, digits, '-' or '_'", t.ID)},
		{resource.MatchString(t.ResourceCode), fmt.Sprintf("resource_code %q must be 18 digits", t.ResourceCode)},
		{townCode.MatchString(t.TownCode), fmt.Sprintf("town_code %q must be 9 digits", t.TownCode)},
		{village.MatchString(t.VillageCode), fmt.Sprintf("village_code %q must be 12 digits", t.VillageCode)},
		{strings.HasPrefix(t.VillageCode, t.TownCode), fmt.Sprintf("village_code %s is not inside town %s", t.VillageCode, t.TownCode)},
		{group.MatchString(t.GroupCode), fmt.Sprintf("group_code %q must be 15 digits", t.GroupCode)},
		{strings.HasPrefix(t.GroupCode, t.VillageCode), fmt.Sprintf("group_code %s is not inside village %s", t.GroupCode, t.VillageCode)},
		{t.TownName != "" && t.VillageName != "" && t.GroupName != "", "town, village and group names must not be empty"},
		// Spreadsheets in China save CSV as GBK unless told otherwise: refused here, not shown
		// as mojibake in every report.
		{utf8.ValidString(t.TownName) && utf8.ValidString(t.VillageName) && utf8.ValidString(t.GroupName), "place names are not UTF-8 text: save the sheet as \"CSV UTF-8\" (it looks like GBK)"},
	}
	for _, c := range checks {
		if !c.ok {
			return Terminal{}, errors.New(c.what)
		}
	}
	var err error
	if t.Latitude, err = parseCoord(rec[8], "latitude", 90); err != nil {
		return Terminal{}, err
	}
	if t.Longitude, err = parseCoord(rec[9], "longitude", 180); err != nil {
		return Terminal{}, err
	}
	return t, nil
}

func parseCoord(s, name string, limit float64) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= -limit && f <= limit) { // also rejects NaN, which compares false
		return 0, fmt.Errorf("%s %q must be a number between -%g and %g", name, s, limit, limit)
	}
	return f, nil
}

// validator catches what no single row shows: duplicates and codes whose names disagree.
type validator struct {
	terminals []Terminal
	idLine    map[string]int
	resLine   map[string]int
	names     map[string]string // region code -> name
	nameLine  map[string]int
}

func newValidator() *validator {
	return &validator{idLine: map[string]int{}, resLine: map[string]int{}, names: map[string]string{}, nameLine: map[string]int{}}
}

func (v *validator) add(t Terminal, line int) error {
	if prev, ok := v.idLine[t.ID]; ok {
		return fmt.Errorf("duplicate terminal_id %s (first on line %d)", t.ID, prev)
	}
	if prev, ok := v.resLine[t.ResourceCode]; ok {
		return fmt.Errorf("duplicate resource_code %s (first on line %d)", t.ResourceCode, prev)
	}
	for _, p := range [][2]string{{t.TownCode, t.TownName}, {t.VillageCode, t.VillageName}, {t.GroupCode, t.GroupName}} {
		if name, ok := v.names[p[0]]; ok && name != p[1] {
			return fmt.Errorf("code %s is named %q here but %q on line %d", p[0], p[1], name, v.nameLine[p[0]])
		}
		if _, ok := v.names[p[0]]; !ok {
			v.names[p[0]], v.nameLine[p[0]] = p[1], line
		}
	}
	v.idLine[t.ID], v.resLine[t.ResourceCode] = line, line
	v.terminals = append(v.terminals, t)
	return nil
}

// ReadFile parses the inventory CSV at path; errors name the file.
func ReadFile(path string) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("site inventory: %w", err)
	}
	defer f.Close()
	inv, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("site inventory %s: %w", path, err)
	}
	return inv, nil
}
