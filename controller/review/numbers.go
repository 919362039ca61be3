package review

import (
	"strings"
	"time"
	"unicode/utf8"
)

// segment is a maximal run of digits (ASCII or full-width) in a text, with a trailing X when
// one follows (the check character of a resident ID).
type segment struct {
	start, end int    // byte offsets
	chars      string // ASCII digits, perhaps ending in X
}

// numberFlags finds personal numbers. Each run of digits is judged whole, so a mobile number
// inside a longer run is not one; runs joined by single spaces or hyphens are also judged in
// the groupings people write: 138 1234 5678, 6222 0200 1234 5678 901, 360102 19900101 1234.
func numberFlags(text string, now time.Time) []Flag {
	var flags []Flag
	segs := segments(text)
	for i := 0; i < len(segs); {
		j := i + 1 // segs[i:j] is a chain: neighbours joined by one separator
		for j < len(segs) && isSeparator(text[segs[j-1].end:segs[j].start]) {
			j++
		}
		for k := i; k < j; {
			if f, n, ok := grouped(segs[k:min(j, k+5)], now); ok {
				flags = append(flags, f)
				k += n
				continue
			}
			if kind := numberKind(segs[k].chars, now); kind != "" {
				flags = append(flags, numberFlag(kind, segs[k].start, segs[k].end, segs[k].chars))
			}
			k++
		}
		i = j
	}
	return flags
}

func isSeparator(s string) bool { return s == " " || s == "-" }

func segments(text string) []segment {
	var out []segment
	var cur strings.Builder
	start := -1
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if d, ok := digit(r); ok {
			if start < 0 {
				start = i
			}
			cur.WriteByte(d)
		} else if start >= 0 {
			end := i
			if r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ' {
				cur.WriteByte('X')
				end = i + size
			}
			out = append(out, segment{start: start, end: end, chars: cur.String()})
			cur.Reset()
			start = -1
		}
		i += size
	}
	if start >= 0 {
		out = append(out, segment{start: start, end: len(text), chars: cur.String()})
	}
	return out
}

func digit(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r), true
	case r >= '０' && r <= '９':
		return byte('0' + r - '０'), true
	}
	return 0, false
}

// grouped tries the longest window of the chain first (at most 5 groups: a 19-digit card).
func grouped(segs []segment, now time.Time) (Flag, int, bool) {
	for n := len(segs); n >= 2; n-- {
		lens := make([]int, n)
		var joined strings.Builder
		for i, s := range segs[:n] {
			lens[i] = len(s.chars)
			joined.WriteString(s.chars)
		}
		c := joined.String()
		var kind FlagKind
		switch {
		case equal(lens, 3, 4, 4) && isMobile(c):
			kind = FlagMobile
		case equal(lens, 6, 8, 4) && validResidentID(c, now):
			kind = FlagIDNumber
		case n >= 4 && cardGroups(lens) && isBankCard(c):
			kind = FlagBankCard
		default:
			continue
		}
		return numberFlag(kind, segs[0].start, segs[n-1].end, c), n, true
	}
	return Flag{}, 0, false
}

func equal(lens []int, want ...int) bool {
	if len(lens) != len(want) {
		return false
	}
	for i := range lens {
		if lens[i] != want[i] {
			return false
		}
	}
	return true
}

// cardGroups: groups of four, the last of one to four.
func cardGroups(lens []int) bool {
	for _, l := range lens[:len(lens)-1] {
		if l != 4 {
			return false
		}
	}
	last := lens[len(lens)-1]
	return last >= 1 && last <= 4
}

func numberKind(c string, now time.Time) FlagKind {
	switch {
	case validResidentID(c, now):
		return FlagIDNumber
	case isMobile(c):
		return FlagMobile
	case isBankCard(c):
		return FlagBankCard
	}
	return ""
}

func numberFlag(kind FlagKind, start, end int, chars string) Flag {
	f := Flag{Kind: kind, Start: start, End: end}
	switch kind {
	case FlagMobile:
		f.Masked = mask(chars, 3, 4)
	default:
		f.Masked = mask(chars, 4, 4)
	}
	return f
}
