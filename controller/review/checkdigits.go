package review

import "time"

// The resident identity number (GB 11643): 6-digit region, 8-digit birth date, 3-digit
// sequence, and a check character by ISO 7064 MOD 11-2.
var (
	idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheck   = "10X98765432" // by sum mod 11
	provinces = map[string]bool{
		"11": true, "12": true, "13": true, "14": true, "15": true, "21": true, "22": true, "23": true,
		"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
		"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
		"50": true, "51": true, "52": true, "53": true, "54": true,
		"61": true, "62": true, "63": true, "64": true, "65": true, "71": true, "81": true, "82": true, "83": true,
	}
)

// validResidentID: 17 digits and a check character that agrees, a province code, and a birth
// date that exists, from 1900 and not after now.
func validResidentID(c string, now time.Time) bool {
	if len(c) != 18 || !provinces[c[:2]] {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
		sum += int(c[i]-'0') * idWeights[i]
	}
	if c[17] != idCheck[sum%11] {
		return false
	}
	y, m, d := atoi(c[6:10]), atoi(c[10:12]), atoi(c[12:14])
	born := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if y < 1900 || born.Year() != y || int(born.Month()) != m || born.Day() != d {
		return false
	}
	return !born.After(now)
}

// isMobile: 11 digits, 1 then 3-9.
func isMobile(c string) bool {
	return len(c) == 11 && allDigits(c) && c[0] == '1' && c[1] >= '3' && c[1] <= '9'
}

// isBankCard: 16 to 19 digits whose Luhn check holds.
func isBankCard(c string) bool {
	if len(c) < 16 || len(c) > 19 || !allDigits(c) {
		return false
	}
	sum := 0
	for i := 0; i < len(c); i++ {
		d := int(c[len(c)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func allDigits(c string) bool {
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
