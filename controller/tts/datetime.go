package tts

import (
	"regexp"
	"strconv"
)

// Dates and clock times. A year is read digit by digit (二〇二六年); months, days, hours,
// minutes and seconds are quantities (十一月二十二日, 七点三十分). Anything out of range
// (13月, 25:00) is not a date or a time and falls through to the number rules.

func validDate(month, day string) bool {
	mo, _ := strconv.Atoi(month)
	d, _ := strconv.Atoi(day)
	return mo >= 1 && mo <= 12 && (day == "" || d >= 1 && d <= 31)
}

func year(digits string) string { return readDigits(digits, &digitHanzi) }

var dateRules = []rule{
	{ // 〔2026〕15号, [2026]: the year in a document number, without 年.
		re: regexp.MustCompile(`([〔［\[【（(])([0-9]{4})([〕］\]】）)])`),
		fn: func(s string, m []int) (string, bool) {
			return group(s, m, 1) + year(group(s, m, 2)) + group(s, m, 3), true
		},
	},
	{ // 2026年11月22日, 2026年11月22号, 2026年11月
		re: regexp.MustCompile(`([0-9]{4}) *年 *([0-9]{1,2}) *月(?: *([0-9]{1,2}) *([日号]))?`),
		fn: func(s string, m []int) (string, bool) {
			mo, d := group(s, m, 2), group(s, m, 3)
			if afterDigit(s, m) || !validDate(mo, d) {
				return "", false
			}
			out := year(group(s, m, 1)) + "年" + cardinal(mo) + "月"
			if d != "" {
				out += cardinal(d) + group(s, m, 4)
			}
			return out, true
		},
	},
	{ // 2026-11-22, 2026/11/22, 2026.11.22 (the same separator twice)
		re: regexp.MustCompile(`([0-9]{4})([-/.])([0-9]{1,2})([-/.])([0-9]{1,2})`),
		fn: func(s string, m []int) (string, bool) {
			mo, d := group(s, m, 3), group(s, m, 5)
			if !isolated(s, m) || group(s, m, 2) != group(s, m, 4) || !validDate(mo, d) {
				return "", false
			}
			return year(group(s, m, 1)) + "年" + cardinal(mo) + "月" + cardinal(d) + "日", true
		},
	},
	{ // 2026年, 2026年度, and year ranges 2025-2026年
		re: regexp.MustCompile(`([0-9]{4})(?: *([-~～—–至到]) *([0-9]{4}))? *年`),
		fn: func(s string, m []int) (string, bool) {
			if afterDigit(s, m) {
				return "", false
			}
			if to := group(s, m, 3); to != "" {
				return year(group(s, m, 1)) + "到" + year(to) + "年", true
			}
			return year(group(s, m, 1)) + "年", true
		},
	},
}

var timeRules = []rule{
	{ // 07:30 -> 七点三十分, 8:00 -> 八点整, 14:05:09 -> 十四点零五分九秒
		re: regexp.MustCompile(`([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?`),
		fn: func(s string, m []int) (string, bool) {
			h, _ := strconv.Atoi(group(s, m, 1))
			mi, _ := strconv.Atoi(group(s, m, 2))
			sec, hasSec := group(s, m, 3), group(s, m, 3) != ""
			se, _ := strconv.Atoi(sec)
			if !isolated(s, m) || nextRune(s, m[1]) == ':' || h > 24 || mi > 59 || se > 59 {
				return "", false
			}
			out := cardinal(group(s, m, 1)) + "点"
			if h == 2 {
				out = "两点" // clock hours say 两点, never 二点
			}
			switch {
			case mi == 0 && se == 0:
				if h == 0 {
					return "零点", true
				}
				return out + "整", true
			case mi == 0:
				out += "零分"
			case mi < 10:
				out += "零" + cardinal(group(s, m, 2)) + "分"
			default:
				out += cardinal(group(s, m, 2)) + "分"
			}
			if hasSec && se != 0 {
				out += cardinal(sec) + "秒"
			}
			return out, true
		},
	},
}
