package review

import (
	"os"
	"testing"
	"unicode/utf8"
)

// FuzzCheck: the secrecy check never panics, every flag lies within the text, in order, with a
// distinct id, and no flag shows a personal number whole.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "电话 138 1234 5678", "6222 0212 3456 7890 128", "绝密机密",
		"１３８１２３４５６７８", "1-1-1-1-1-1", "12345678901234567xX", "\xff13812345678\xfe", ""} {
		f.Add(s, "机密")
	}
	f.Fuzz(func(t *testing.T, text, term string) {
		flags := checkAt(text, append([]string{term}, DefaultTerms...), checkNow)
		ids := map[string]bool{}
		for i, fl := range flags {
			if fl.Start < 0 || fl.End > len(text) || fl.Start >= fl.End {
				t.Fatalf("flag %+v outside text of %d bytes", fl, len(text))
			}
			if i > 0 && fl.Start < flags[i-1].Start {
				t.Fatalf("flags out of order: %+v", flags)
			}
			if fl.Char != utf8.RuneCountInString(text[:fl.Start]) {
				t.Fatalf("flag %+v: char %d, want %d", fl, fl.Char, utf8.RuneCountInString(text[:fl.Start]))
			}
			if ids[fl.ID] || fl.ID == "" {
				t.Fatalf("flag id %q repeated or empty: %+v", fl.ID, flags)
			}
			ids[fl.ID] = true
			if fl.Kind != FlagTerm && fl.Masked == text[fl.Start:fl.End] {
				t.Fatalf("flag %+v shows the number unmasked", fl)
			}
		}
	})
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
