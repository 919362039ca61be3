package tts

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize: Normalize takes text typed by township staff and must never panic. Its output
// is valid UTF-8, holds no ASCII digit (espeak-ng would read them one by one, in the wrong
// language register, whatever the input: the rules end with a catch-all) and stays within a
// few times the input's length (no rule can run away).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"2026年11月22日 07:30", "0793-5800580", "1.5万元", "12.5%", "-5℃", "1,200元"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Normalize(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Normalize(%q) = %q: not valid UTF-8", in, out)
		}
		if i := strings.IndexAny(out, "0123456789"); i >= 0 {
			t.Fatalf("Normalize(%q) = %q: ASCII digit left at byte %d", in, out, i)
		}
		if n, m := utf8.RuneCountInString(in), utf8.RuneCountInString(out); m > 4*n+8 {
			t.Fatalf("Normalize(%q) = %q: %d runes from %d", in, out, m, n)
		}
	})
}
