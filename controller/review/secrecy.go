package review

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FlagKind is what the secrecy check found.
type FlagKind string

const (
	FlagIDNumber FlagKind = "id_number"      // 居民身份证号码
	FlagMobile   FlagKind = "mobile"         // 手机号码
	FlagBankCard FlagKind = "bank_card"      // 银行卡号
	FlagTerm     FlagKind = "sensitive_term" // 敏感词
)

// Label is the kind in Chinese, for staff.
func (k FlagKind) Label() string {
	switch k {
	case FlagIDNumber:
		return "居民身份证号码"
	case FlagMobile:
		return "手机号码"
	case FlagBankCard:
		return "银行卡号"
	case FlagTerm:
		return "敏感词"
	}
	return string(k)
}

// Flag is one thing the secrecy check (保密审查) asks a reviewer to look at before approval.
type Flag struct {
	ID           string   `json:"id"` // F1, F2, ... in order of appearance
	Kind         FlagKind `json:"kind"`
	Label        string   `json:"label"`           // the kind in Chinese
	Field        string   `json:"field,omitempty"` // title or text, when an announcement is checked
	Masked       string   `json:"masked"`          // the match for display; personal numbers masked
	Start        int      `json:"start"`           // byte offsets of the match in the checked text
	End          int      `json:"end"`
	Char         int      `json:"char"` // the match's position in characters, from 0
	Acknowledged bool     `json:"acknowledged,omitempty"`
}

// Check looks through text for resident ID numbers, mobile numbers, bank card numbers and the
// given sensitive terms. It only points things out: a reviewer decides.
func Check(text string, terms []string) []Flag {
	return checkAt(text, terms, time.Now())
}

func checkAt(text string, terms []string, now time.Time) []Flag {
	flags := numberFlags(text, now)
	for _, term := range terms {
		if term == "" || !utf8.ValidString(term) { // a valid term only matches at the start of a character
			continue
		}
		for from := 0; from < len(text); {
			i := strings.Index(text[from:], term)
			if i < 0 {
				break
			}
			start := from + i
			flags = append(flags, Flag{Kind: FlagTerm, Masked: term, Start: start, End: start + len(term)})
			from = start + len(term)
		}
	}
	sort.SliceStable(flags, func(i, j int) bool {
		if flags[i].Start != flags[j].Start {
			return flags[i].Start < flags[j].Start
		}
		return flags[i].End < flags[j].End
	})
	chars, at := 0, 0
	for i := range flags {
		f := &flags[i]
		chars += utf8.RuneCountInString(text[at:f.Start])
		at = f.Start
		f.Char, f.Label = chars, f.Kind.Label()
	}
	number(flags, 1)
	return flags
}

// number gives flags the ids F<first>, F<first+1>, ...
func number(flags []Flag, first int) {
	for i := range flags {
		flags[i].ID = "F" + strconv.Itoa(first+i)
	}
}

// mask keeps the head and tail of a number and stars the rest: 3601**********1234.
func mask(s string, head, tail int) string {
	if len(s) <= head+tail {
		return strings.Repeat("*", len(s))
	}
	return s[:head] + strings.Repeat("*", len(s)-head-tail) + s[len(s)-tail:]
}
