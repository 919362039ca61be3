package cascade

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Every parser of what other platforms send is fuzzed; the seed corpora are in
// testdata/fuzz/<target>/ (rewritten from the golden files with -update).

func seedFiles(f *testing.F, target string, names ...string) {
	var seeds [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	addSeeds(f, target, seeds...)
}

// addSeeds adds seeds and, with -update, writes them as the target's checked-in corpus.
func addSeeds(f *testing.F, target string, seeds ...[]byte) {
	for _, b := range seeds {
		f.Add(b)
	}
	if !*update {
		return
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for i, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
}

func FuzzParseEBD(f *testing.F) {
	seedFiles(f, "FuzzParseEBD", "ebm-broadcast.xml", "ebm-state.xml", "ebm-state-request.xml", "ebd-response.xml", "connection-check.xml", "terminal-state.xml")
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEBD(b)
		if err != nil {
			return
		}
		if e.EBM != nil {
			if a, err := e.Alert(); err == nil && (a.ID == "" || (!a.Cancel && len(a.Areas) == 0)) {
				t.Fatalf("accepted alert without id or areas: %+v", a)
			}
		}
		// What parsed encodes and parses again to the same envelope.
		out, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseEBD(out); err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v\n%s", err, out)
		}
	})
}

func FuzzParseCAP(f *testing.F) {
	seedFiles(f, "FuzzParseCAP", "cap-alert.xml")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCAP(b)
		if err != nil {
			return
		}
		if a, err := c.Alert(); err == nil && (a.ID == "" || (!a.Cancel && len(a.Areas) == 0)) {
			t.Fatalf("accepted alert without id or areas: %+v", a)
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	seedFiles(f, "FuzzParseSignature", "signature.xml")
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseSignature(b)
	})
}

func FuzzReadPackage(f *testing.F) {
	p := &Package{Name: "EBDB_1.xml", Message: []byte("<EBD/>"), Signature: []byte("<Signature/>"), Files: map[string][]byte{"a.wav": {1, 2}}}
	b, err := p.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	addSeeds(f, "FuzzReadPackage", b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPackage(bytes.NewReader(b))
		if err != nil {
			return
		}
		if p.Name == "" || p.Message == nil {
			t.Fatalf("package without a message accepted: %+v", p)
		}
	})
}
