package inventory

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"dalaba/controller/store"
)

// FuzzImport feeds the whole site import (--site: Parse, then Save, then Load as the
// controller does at start) arbitrary files. It must never panic. A refused file names the
// line at fault, unless it has no terminal rows at all; an accepted one has place names in
// UTF-8 (what the API and reports show) and comes back from the store exactly as parsed.
func FuzzImport(f *testing.F) {
	f.Add(readCaoxi(f))
	f.Add([]byte(header + row() + row2))
	db, err := store.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse(bytes.NewReader(data))
		if err != nil {
			var re *RowError
			if errors.As(err, &re) {
				if maxLine := bytes.Count(data, []byte("\n")) + 1; re.Line < 1 || re.Line > maxLine || re.Err == nil {
					t.Fatalf("RowError.Line = %d outside the input's %d lines: %v", re.Line, maxLine, err)
				}
				return
			}
			// Only a file without terminal rows may fail without a line: it has at most a
			// header record.
			if recs, rerr := csv.NewReader(bytes.NewReader(data)).ReadAll(); rerr == nil && len(recs) > 1 {
				t.Fatalf("error names no line but the file has %d records: %v", len(recs), err)
			}
			return
		}
		for _, term := range inv.Terminals() {
			for _, name := range []string{term.TownName, term.VillageName, term.GroupName} {
				if !utf8.ValidString(name) {
					t.Fatalf("accepted terminal %s with a place name that is not UTF-8: %q", term.ID, name)
				}
			}
		}
		if err := Save(ctx, db, inv); err != nil {
			t.Fatalf("Save of a parsed inventory: %v", err)
		}
		back, err := Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Terminals(), inv.Terminals()) {
			t.Fatalf("stored inventory differs from the parsed one:\nparsed %+v\nstored %+v", inv.Terminals(), back.Terminals())
		}
	})
}
