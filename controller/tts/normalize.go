package tts

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalize rewrites announcement text into words espeak-ng reads correctly in Mandarin: it
// reads Arabic digits one at a time, % as a letter name and 2026 as 两千零二十六 whether or
// not it is a year. Each rule below turns one class of numbers into hanzi, the most specific
// first (dates before times before phone numbers before plain integers); once a rule has
// written hanzi, later rules no longer see digits there. The punctuation pass comes last.
//
// Readings chosen (see numerals.go for the digit tables):
//   - years digit by digit (二〇二六年), months, days and hours as quantities (十一月, 七点);
//   - phone, resident ID, case and other numbers of 6+ digits digit by digit with 幺 for 1,
//     in groups separated by "，": espeak-ng pauses at a comma (about 150 ms) but not at a
//     space, and a listener writing a number down needs the pause;
//   - amounts, counts and percentages as quantities, decimals digit by digit after 点;
//   - a bare 2 before a measure word, and a leading 2 before 千/万/亿, as 两 (两户, 两万元);
//   - negative temperatures as 零下, other negative numbers as 负.
func Normalize(text string) string {
	s := fold(text)
	for _, r := range rules {
		s = r.apply(s)
	}
	return punctuate(s)
}

// rule rewrites each match of re with fn, which sees the whole text (to look at neighbours,
// as RE2 has no look-around) and may leave a match alone by returning false.
type rule struct {
	re *regexp.Regexp
	fn func(s string, m []int) (string, bool)
}

func (r rule) apply(s string) string {
	ms := r.re.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		out, ok := r.fn(s, m)
		if !ok {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(out)
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// The order is the precedence: see the doc comment of Normalize.
var rules = concat(dateRules, timeRules, numberRules, []rule{{
	// Whatever digits are left (none, by construction) are still not spoken as Latin.
	re: regexp.MustCompile(`[0-9]+`),
	fn: func(s string, m []int) (string, bool) { return readDigits(s[m[0]:m[1]], &digitHanzi), true },
}})

func concat(lists ...[]rule) []rule {
	var out []rule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// group returns submatch i, or "" when it did not take part.
func group(s string, m []int, i int) string {
	if m[2*i] < 0 {
		return ""
	}
	return s[m[2*i]:m[2*i+1]]
}

func prevRune(s string, i int) rune {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

func nextRune(s string, j int) rune {
	r, _ := utf8.DecodeRuneInString(s[j:])
	return r
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isAlnum(r rune) bool { return isDigit(r) || r < utf8.RuneSelf && unicode.IsLetter(r) }

// afterDigit reports whether the match m is glued to a digit before it: it is then the tail of
// a longer number (for rules whose match ends in a hanzi such as 年, that is all to check).
func afterDigit(s string, m []int) bool { return isDigit(prevRune(s, m[0])) }

// isolated reports whether the match m is not glued to more digits (or a decimal point
// followed by digits) on either side, so "12345678" is never read as a part of something longer.
func isolated(s string, m []int) bool {
	if isDigit(prevRune(s, m[0])) || isDigit(nextRune(s, m[1])) {
		return false
	}
	if prevRune(s, m[0]) == '.' && m[0] >= 2 && isDigit(prevRune(s, m[0]-1)) {
		return false
	}
	return !(nextRune(s, m[1]) == '.' && len(s) > m[1]+1 && isDigit(nextRune(s, m[1]+1)))
}

// thousands matches digit groups separated by ASCII commas: 1,200 and 1,250,000.
var thousands = regexp.MustCompile(`[0-9]{1,3}(?:,[0-9]{3})+`)

// fold repairs the input (invalid UTF-8 dropped, CRLF, full-width digits and symbols, odd
// spaces) and removes thousands separators, so the rules only deal with ASCII digits.
func fold(text string) string {
	text = strings.ToValidUTF8(text, "")
	var b strings.Builder
	rs := []rune(text)
	for i, r := range rs {
		between := i > 0 && i+1 < len(rs) && isDigit(fullToASCII(rs[i-1])) && isDigit(fullToASCII(rs[i+1]))
		switch {
		case r >= '０' && r <= '９', r == '％', r == '－':
			b.WriteRune(fullToASCII(r))
		case r == '：' && between:
			b.WriteByte(':')
		case r == '．' && between:
			b.WriteByte('.')
		case r == '\r':
		case r == '\n':
			b.WriteByte('\n')
		case unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u200b' || r == '\ufeff':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	return thousands.ReplaceAllStringFunc(s, func(g string) string { return strings.ReplaceAll(g, ",", "") })
}

func fullToASCII(r rune) rune {
	switch {
	case r >= '０' && r <= '９':
		return r - '０' + '0'
	case r == '％':
		return '%'
	case r == '－':
		return '-'
	}
	return r
}
