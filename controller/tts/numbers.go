package tts

import (
	"regexp"
	"strings"
)

// phone reads digit groups one digit at a time with 幺 for 1, a comma (a pause) between groups.
// An 11-digit mobile number is grouped 3-4-4 and an 18-character resident ID 6-8-4 (region,
// birth date, sequence), the way people say them.
func phone(groups ...string) string {
	var out []string
	for _, g := range groups {
		switch {
		case len(g) == 11 && g[0] == '1':
			out = append(out, readDigits(g[:3], &phoneHanzi), readDigits(g[3:7], &phoneHanzi), readDigits(g[7:], &phoneHanzi))
		case len(g) == 18:
			out = append(out, readDigits(g[:6], &phoneHanzi), readDigits(g[6:14], &phoneHanzi), readDigits(g[14:], &phoneHanzi))
		default:
			out = append(out, readDigits(g, &phoneHanzi))
		}
	}
	return strings.Join(out, "，")
}

// splitDigits splits "0793-5800580" or "110、119" into its digit groups.
func splitDigits(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isDigit(r) && r != 'X' && r != 'x' })
}

// measureWords follow a quantity. A bare 2 before one of them is 两 (两户, 两小时); a long digit
// string before one of them is an amount (1200000元), not an ID.
var measureWords = []string{"个", "人", "户", "天", "次", "名", "位", "辆", "台", "件", "头", "只",
	"条", "张", "本", "家", "所", "岁", "周", "亩", "斤", "吨", "套", "间", "棵", "株", "块", "元",
	"点", "万", "千", "亿", "倍", "项", "批", "场", "趟", "小时", "分钟", "公里", "公斤", "千克",
	"平方", "立方", "米", "年", "个月"}

func beforeMeasure(s string, j int) bool {
	for _, w := range measureWords {
		if strings.HasPrefix(s[j:], w) {
			return !strings.HasPrefix(s[j:], "年级") // 二年级 is a grade, not two years
		}
	}
	return false
}

// units spelled in Latin letters or symbols after a number; espeak-ng would spell them out.
var unitWords = map[string]string{"km/h": "公里每小时", "km": "公里", "kg": "公斤", "mm": "毫米",
	"cm": "厘米", "m²": "平方米", "m2": "平方米", "㎡": "平方米", "m": "米", "℃": "摄氏度", "°C": "摄氏度", "°": "度"}

func digitsRule(pattern string, fn func(s string, m []int) (string, bool)) rule {
	return rule{re: regexp.MustCompile(pattern), fn: fn}
}

var numberRules = []rule{
	// After a word that announces a phone number, any digits (in groups) are one: 拨打12345,
	// 报警电话110, 联系电话：0793 5800580.
	digitsRule(`(电话|热线|拨打|致电|手机|号码|传真|报警|火警|急救|咨询)( *[:：]? *)([0-9]+(?:(?: |-|、|或) *[0-9]+)*[Xx]?)`,
		func(s string, m []int) (string, bool) {
			return group(s, m, 1) + group(s, m, 2) + phone(splitDigits(group(s, m, 3))...), !isAlnum(nextRune(s, m[1]))
		}),
	// Digit groups joined by hyphens: 3-5天 is a range; 0793-5800580, 400-800-1234 and case
	// numbers 2026-0123 are read digit by digit.
	digitsRule(`[0-9]+(?:[-—–][0-9]+)+( *%)?`, func(s string, m []int) (string, bool) {
		if !isolated(s, m) {
			return "", false
		}
		groups, pct := splitDigits(s[m[0]:m[1]]), group(s, m, 1) != ""
		if len(groups) == 2 && len(groups[0]) <= 3 && len(groups[1]) <= 3 &&
			!strings.HasPrefix(groups[0], "0") && !strings.HasPrefix(groups[1], "0") {
			if pct { // 10-20% is 百分之十到百分之二十
				return "百分之" + cardinal(groups[0]) + "到百分之" + cardinal(groups[1]), true
			}
			return cardinal(groups[0]) + "到" + cardinal(groups[1]), true
		}
		if pct {
			return "", false
		}
		return phone(groups...), true
	}),
	digitsRule(`1[3-9][0-9]{9}`, func(s string, m []int) (string, bool) { // mobile numbers
		return phone(s[m[0]:m[1]]), isolated(s, m)
	}),
	digitsRule(`[0-9]{17}[0-9Xx]`, func(s string, m []int) (string, bool) { // resident ID: region, birth date, sequence
		return phone(s[m[0]:m[1]]), isolated(s, m) && !isAlnum(nextRune(s, m[1]))
	}),
	digitsRule(`[0-9]{6,}`, func(s string, m []int) (string, bool) { // account, case and other numbers
		if !isolated(s, m) || beforeMeasure(s, m[1]) {
			return "", false
		}
		return readDigits(s[m[0]:m[1]], &phoneHanzi), true
	}),
	digitsRule(`([0-9]) *(km/h|km|kg|mm|cm|m²|m2|㎡|m|℃|°C|°)`, func(s string, m []int) (string, bool) {
		unit := group(s, m, 2)
		if unit != "℃" && unit != "㎡" && isAlnum(nextRune(s, m[1])) {
			return "", false // 5mA, 3 months: not a unit we know
		}
		return group(s, m, 1) + unitWords[unit], true
	}),
	// -5℃ is 零下五摄氏度 in a weather warning; elsewhere a minus sign is 负.
	digitsRule(`[-−]([0-9]+(?:\.[0-9]+)?)(摄氏度|度)`, func(s string, m []int) (string, bool) {
		return "零下" + group(s, m, 1) + group(s, m, 2), !afterNumber(s, m[0])
	}),
	digitsRule(`([-−]?)([0-9]+)(?:\.([0-9]+))? *([%‰])`, func(s string, m []int) (string, bool) {
		sign := ""
		if group(s, m, 1) != "" {
			sign = "负"
			if afterNumber(s, m[0]) {
				sign = group(s, m, 1) // 10%-20%: a dash, made 到 by punctuate
			}
		}
		of := "百分之"
		if group(s, m, 4) == "‰" {
			of = "千分之"
		}
		if group(s, m, 2) == "100" && group(s, m, 3) == "" && of == "百分之" {
			return sign + "百分之百", true
		}
		return sign + of + decimal(group(s, m, 2), group(s, m, 3)), isolated(s, m)
	}),
	digitsRule(`[¥￥] *([0-9]+)(?:\.([0-9]+))?`, func(s string, m []int) (string, bool) { // ￥1,200 -> 一千二百元
		return decimal(group(s, m, 1), group(s, m, 2)) + "元", true
	}),
	digitsRule(`([0-9]+)/([0-9]+)`, func(s string, m []int) (string, bool) { // 1/3 -> 三分之一
		num, den := group(s, m, 1), group(s, m, 2)
		return cardinal(den) + "分之" + cardinal(num), isolated(s, m) && strings.Trim(den, "0") != ""
	}),
	digitsRule(`[-−]([0-9])`, func(s string, m []int) (string, bool) {
		return "负" + group(s, m, 1), !afterNumber(s, m[0])
	}),
	digitsRule(`([0-9]+)\.([0-9]+)`, func(s string, m []int) (string, bool) {
		return decimal(group(s, m, 1), group(s, m, 2)), true
	}),
	digitsRule(`[0-9]+`, func(s string, m []int) (string, bool) {
		n := s[m[0]:m[1]]
		switch {
		case n == "2" && prevRune(s, m[0]) != '第' && beforeMeasure(s, m[1]):
			return "两", true
		case len(n) >= 3 && n[0] == '0': // 0793, 007号: a code, never a quantity
			return readDigits(n, &phoneHanzi), true
		}
		return cardinal(n), true // 05 (as in 05日) is still 五
	}),
}

// afterNumber reports whether position i follows a number (spaces skipped): a digit, a letter,
// or a unit that ends one (22日, 5%); a hyphen there is a dash (22日-30日), not a minus sign.
func afterNumber(s string, i int) bool {
	t := strings.TrimRight(s[:i], " ")
	p := prevRune(t, len(t))
	return t != "" && (isAlnum(p) || strings.ContainsRune("%‰℃°年月日号时点分秒元天度户人亩个次", p))
}
