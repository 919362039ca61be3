package tts

import "strings"

// Chinese numerals. Three readings of a digit string occur in announcements:
//   - as a quantity (cardinal): 1005 -> 一千零五, with the zero and 十 rules below;
//   - digit by digit for years: 2016 -> 二〇一六;
//   - digit by digit for phone, ID and case numbers: 0791 -> 〇七九幺. On the telephone and on a
//     loudspeaker 一 (yī) and 七 (qī) are easily confused, so 1 is read 幺 (yāo), as operators,
//     the police and the army do. Years keep 一: nobody says 二〇幺六年.

var (
	digitHanzi = [10]string{"〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	phoneHanzi = [10]string{"〇", "幺", "二", "三", "四", "五", "六", "七", "八", "九"}
	// Decimal digits are written 零, as in 三点零五.
	decimalHanzi = [10]string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
)

// maxCardinalDigits bounds what is read as a quantity: up to 千万亿 (10^16 - 1). Longer
// strings are never amounts and are read digit by digit.
const maxCardinalDigits = 16

// readDigits reads ASCII digits one by one with the given table; other runes (X at the end of a
// resident ID, separators) are passed to other.
func readDigits(s string, table *[10]string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteString(table[r-'0'])
		case r == 'X' || r == 'x':
			b.WriteString("叉") // the check character of a resident ID, read as people read it aloud
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cardinal reads a string of ASCII digits as a quantity: 10 -> 十, 101 -> 一百零一,
// 110 -> 一百一十, 100010 -> 十万零一十. Leading zeros are ignored; over maxCardinalDigits
// significant digits it falls back to reading digit by digit.
func cardinal(digits string) string {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "零"
	}
	if len(digits) > maxCardinalDigits {
		return readDigits(digits, &digitHanzi)
	}
	// Split into groups of four from the right: 个, 万, 亿, 万亿.
	groupUnits := []string{"", "万", "亿", "万亿"}
	var groups []string
	for end := len(digits); end > 0; end -= 4 {
		groups = append(groups, digits[max(0, end-4):end])
	}
	var b strings.Builder
	zeroPending := false // a zero group or a gap was skipped since the last output
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if strings.Trim(g, "0") == "" {
			zeroPending = b.Len() > 0
			continue
		}
		// A group under 1000 after a higher one needs 零: 一万零五, 一亿零一万.
		if b.Len() > 0 && (zeroPending || len(strings.TrimLeft(g, "0")) < 4) {
			b.WriteString("零")
		}
		b.WriteString(group4(g))
		b.WriteString(groupUnits[i])
		zeroPending = false
	}
	out := b.String()
	// 10..19 at the head of a number are 十.., not 一十..: 十, 十五, 十万; inside, 一百一十 keeps it.
	if strings.HasPrefix(out, "一十") {
		out = strings.TrimPrefix(out, "一")
	}
	// A leading 2 before 千, 万 or 亿 is said 两: 两千元, 两万人.
	for _, u := range []string{"千", "万", "亿"} {
		if strings.HasPrefix(out, "二"+u) {
			return "两" + strings.TrimPrefix(out, "二")
		}
	}
	return out
}

// group4 reads up to four digits (not all zero) as 千百十个, with one 零 for each run of
// inner zeros and nothing for trailing ones.
func group4(g string) string {
	units := []string{"千", "百", "十", ""}[4-len(g):]
	var b strings.Builder
	zero := false
	for i, r := range g {
		d := r - '0'
		if d == 0 {
			zero = b.Len() > 0
			continue
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		b.WriteString(digitHanzi[d])
		b.WriteString(units[i])
	}
	return b.String()
}

// decimal reads "int.frac": 3.25 -> 三点二五, 0.5 -> 零点五, 3.05 -> 三点零五. Trailing zeros
// are not said (1200.50元 -> 一千二百点五元, 3.00元 -> 三元).
func decimal(intPart, frac string) string {
	if frac = strings.TrimRight(frac, "0"); frac == "" {
		return cardinal(intPart)
	}
	return cardinal(intPart) + "点" + readDigits(frac, &decimalHanzi)
}
