package tts

import (
	"strings"
	"unicode"
)

// punctuate turns what remains of the text's punctuation into pauses espeak-ng makes. It
// pauses at ，、；：。！？ (measured: about 150 ms at a comma) and nowhere else: brackets, quotes
// and a line break are silent or, worse, read out. So line breaks end a sentence, brackets and
// dashes become commas, quotes go, and a run of pauses keeps only the strongest.
func punctuate(s string) string {
	s = strings.NewReplacer("——", "，", "……", "。", "…", "。", "...", "。", "℃", "摄氏度",
		"&", "和", "#", "号").Replace(s)
	rs := []rune(s)
	var out []rune
	for i, r := range rs {
		switch {
		case r == 0:
		case r == '\n':
			out = append(out, '。')
		case strings.ContainsRune("（）()【】[]〔〕［］{}", r):
			out = append(out, '，')
		case strings.ContainsRune("“”‘’\"'「」『』《》〈〉<>·•`*_=|\\^@", r):
			out = append(out, ' ')
		case strings.ContainsRune("-—–～~", r):
			if rangeBetween(rs, i) { // 十一月二十二日-三十日, 八点整-十二点整, 南昌-九江
				for len(out) > 0 && out[len(out)-1] == ' ' {
					out = out[:len(out)-1]
				}
				out = append(out, '到')
				for j := i + 1; j < len(rs) && rs[j] == ' '; j++ {
					rs[j] = 0 // dropped below (fold has turned any NUL of the input into a space)
				}
			} else {
				out = append(out, '，')
			}
		case r == '/':
			if unitSlash(rs, i) {
				out = append(out, '每') // 125元/亩 -> 一百二十五元每亩
			} else {
				out = append(out, '、') // 村委会/村民小组: "or", a short pause
			}
		case strings.ContainsRune(",.;:!?", r):
			out = append(out, []rune("，。；：！？")[strings.IndexRune(",.;:!?", r)])
		default:
			out = append(out, r)
		}
	}
	return tidy(out)
}

// rangeBetween reports whether the dash at i stands between two hanzi (spaces aside).
func rangeBetween(rs []rune, i int) bool {
	j, k := i-1, i+1
	for j >= 0 && rs[j] == ' ' {
		j--
	}
	for k < len(rs) && rs[k] == ' ' {
		k++
	}
	return j >= 0 && k < len(rs) && unicode.Is(unicode.Han, rs[j]) && unicode.Is(unicode.Han, rs[k])
}

// unitSlash reports whether the slash at i follows a unit: then it means "per".
func unitSlash(rs []rune, i int) bool {
	if i == 0 || i+1 >= len(rs) || !unicode.Is(unicode.Han, rs[i+1]) {
		return false
	}
	before := string(rs[max(0, i-2):i])
	for _, u := range []string{"元", "块", "斤", "公斤", "千克", "吨", "米", "公里", "升", "次", "小时", "天", "度"} {
		if strings.HasSuffix(before, u) {
			return true
		}
	}
	return false
}

const pauses = "，、；：。！？"

// strength ranks pauses: a sentence end over a clause break over a comma.
func strength(r rune) int {
	switch r {
	case '。', '！', '？':
		return 3
	case '；', '：':
		return 2
	}
	return 1
}

// tidy collapses spaces, drops spaces next to hanzi or pauses, keeps the strongest of adjacent
// pauses and removes pauses at the start.
func tidy(rs []rune) string {
	var out []rune
	for _, r := range rs {
		last := rune(0)
		if len(out) > 0 {
			last = out[len(out)-1]
		}
		switch {
		case r == ' ':
			if last != 0 && last != ' ' {
				out = append(out, ' ')
			}
		case strings.ContainsRune(pauses, r):
			for len(out) > 0 && out[len(out)-1] == ' ' {
				out = out[:len(out)-1]
			}
			if len(out) == 0 {
				continue
			}
			if last = out[len(out)-1]; strings.ContainsRune(pauses, last) {
				if strength(r) > strength(last) {
					out[len(out)-1] = r
				}
				continue
			}
			out = append(out, r)
		default:
			if last == ' ' && len(out) >= 2 && strings.ContainsRune(pauses, out[len(out)-2]) {
				out = out[:len(out)-1]
			}
			out = append(out, r)
		}
	}
	return strings.TrimSpace(string(out))
}
