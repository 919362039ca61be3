package review

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// defaultBcryptCost is 10: about 60 ms a login on the controller's hardware.
const defaultBcryptCost = bcrypt.DefaultCost

// bcryptCost is the cost of every hash, the stand-in for unknown names included. Only this
// package's tests lower it (bcrypt under the race detector is 30 times slower).
var bcryptCost = defaultBcryptCost

// Password rules: long enough, at most bcrypt's 72 bytes, of at least two kinds of character,
// not the user name, not one of the passwords every guesser tries first.
const (
	minPasswordRunes = 8
	maxPasswordBytes = 72
)

// commonPasswords are refused whatever the rules above say (compared in lower case).
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "password123": true, "passw0rd": true, "p@ssw0rd": true,
	"admin123": true, "admin1234": true, "admin@123": true, "abc12345": true, "abcd1234": true,
	"a1234567": true, "aa123456": true, "1qaz2wsx": true, "qwer1234": true, "qwerty123": true,
	"1q2w3e4r": true, "iloveyou1": true, "woaini1314": true, "dalaba123": true, "changeme1": true,
}

// checkPassword applies the rules; name is the account's, which the password may not equal.
func checkPassword(name, pw string) error {
	bad := func(message, detail string) error { return invalid("password", message, errors.New(detail)) }
	switch {
	case utf8.RuneCountInString(pw) < minPasswordRunes:
		return bad(fmt.Sprintf("密码至少 %d 个字符", minPasswordRunes), "password shorter than 8 characters")
	case len(pw) > maxPasswordBytes:
		return bad("密码不能超过 72 字节（约 24 个汉字）", "password longer than bcrypt's 72 bytes")
	case !utf8.ValidString(pw) || strings.ContainsFunc(pw, unicode.IsControl):
		return bad("密码不能含控制字符", "password has control characters or is not UTF-8")
	case strings.TrimSpace(pw) != pw:
		return bad("密码首尾不能是空格", "password begins or ends with white space")
	case kinds(pw) < 2:
		return bad("密码须包含字母、数字、符号中的至少两类", "password has one kind of character only")
	case strings.EqualFold(pw, name):
		return bad("密码不能与用户名相同", "password equals the user name")
	case commonPasswords[strings.ToLower(pw)]:
		return bad("密码过于常见，容易被猜中，请换一个", "password is on the common passwords list")
	}
	return nil
}

// kinds counts the kinds of character in pw: letters, digits, anything else.
func kinds(pw string) int {
	var letter, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsLetter(r):
			letter = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	return letter + digit + other
}

func hashPassword(name, pw string) (string, error) {
	if err := checkPassword(name, pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}
