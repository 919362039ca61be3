package review

import (
	"strings"
	"testing"
	"time"
)

var checkNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)

func TestCheckFindsPersonalNumbersAndTerms(t *testing.T) {
	type want struct {
		kind   FlagKind
		masked string
	}
	cases := []struct {
		name string
		text string
		want []want
	}{
		// Resident ID numbers: MOD 11-2 check character, province, birth date.
		{"ID with X check character", "身份证号11010519491231002X。", []want{{FlagIDNumber, "1101**********002X"}}},
		{"ID with lowercase x", "11010519491231002x", []want{{FlagIDNumber, "1101**********002X"}}},
		{"ID with digit check", "户主 360102199003071236 已登记", []want{{FlagIDNumber, "3601**********1236"}}},
		{"ID born on a leap day", "440304198511115679 and 361126195501010026", []want{{FlagIDNumber, "4403**********5679"}, {FlagIDNumber, "3611**********0026"}}},
		{"ID in groups", "证件号 360102 19900307 1236", []want{{FlagIDNumber, "3601**********1236"}}},
		{"ID wrong check character", "110105194912310021", nil},
		{"ID wrong check, passes Luhn: a card", "360102199003071235", []want{{FlagBankCard, "3601**********1235"}}},
		{"ID on 29 Feb of a common year", "36112620010229001X", nil},
		{"ID born in the future", "361126209001010016", nil},
		{"ID born before 1900", "361126189901010016", nil},
		{"ID with no such province", "991126199001010017", nil},
		{"ID inside a longer run", "1110105194912310021X", nil},
		// Mobile numbers: 1[3-9] and nine digits, not part of a longer run.
		{"mobile", "联系电话13812345678。", []want{{FlagMobile, "138****5678"}}},
		{"mobile 19x", "19912345678", []want{{FlagMobile, "199****5678"}}},
		{"mobile written 3-4-4", "电话 138 1234 5678 找老王", []want{{FlagMobile, "138****5678"}}},
		{"mobile with hyphens", "138-1234-5678", []want{{FlagMobile, "138****5678"}}},
		{"mobile after an area code", "0791-13812345678", []want{{FlagMobile, "138****5678"}}},
		{"mobile in full-width digits", "电话１３８１２３４５６７８", []want{{FlagMobile, "138****5678"}}},
		{"not mobile: second digit 2", "12812345678", nil},
		{"not mobile: 12 digits", "138123456789", nil},
		{"not mobile: 10 digits", "1381234567", nil},
		{"landline", "0791-88123456", nil},
		// Bank card numbers: 16 to 19 digits passing Luhn.
		{"card 19 digits", "账号6222021234567890128", []want{{FlagBankCard, "6222***********0128"}}},
		{"card 16 digits", "4111111111111111", []want{{FlagBankCard, "4111********1111"}}},
		{"card 18 digits", "622848001234567894", []want{{FlagBankCard, "6228**********7894"}}},
		{"card in groups of four", "卡号 6222 0212 3456 7890 128 。", []want{{FlagBankCard, "6222***********0128"}}},
		{"card failing Luhn", "6222021234567890127", nil},
		{"card failing Luhn in groups", "6222 0212 3456 7890 127", nil},
		{"15 digits", "411111111111116", nil},
		{"20 digits", "41111111111111111113", nil},
		// Sensitive terms.
		{"term", "此件为机密文件", []want{{FlagTerm, "机密"}}},
		{"terms twice", "内部资料，内部资料", []want{{FlagTerm, "内部资料"}, {FlagTerm, "内部资料"}}},
		{"nothing", "各位村民：明天上午九点在村委会发放2024年耕地地力保护补贴，每亩 120 元。", nil},
		{"dates and amounts", "2024年5月1日 共计1234567.89元 编号20240501", nil},
		{"everything", "绝密 13812345678 11010519491231002X", []want{{FlagTerm, "绝密"}, {FlagMobile, "138****5678"}, {FlagIDNumber, "1101**********002X"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkAt(tc.text, DefaultTerms, checkNow)
			if len(got) != len(tc.want) {
				t.Fatalf("%d flags, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				f := got[i]
				if f.Kind != w.kind || f.Masked != w.masked {
					t.Errorf("flag %d: %s %q, want %s %q", i, f.Kind, f.Masked, w.kind, w.masked)
				}
				if f.ID != "F"+string(rune('1'+i)) || f.Label == "" {
					t.Errorf("flag %d: id %q label %q", i, f.ID, f.Label)
				}
			}
		})
	}
}

func TestCheckPositions(t *testing.T) {
	text := "请联系：13812345678（王）"
	got := checkAt(text, nil, checkNow)
	if len(got) != 1 {
		t.Fatalf("flags %+v", got)
	}
	f := got[0]
	if text[f.Start:f.End] != "13812345678" || f.Char != 4 {
		t.Fatalf("flag at bytes %d-%d (%q), char %d; want the number at char 4", f.Start, f.End, text[f.Start:f.End], f.Char)
	}
	if strings.Contains(f.Masked, "1234") {
		t.Fatalf("masked %q shows the middle digits", f.Masked)
	}
}

func TestLoadTerms(t *testing.T) {
	path := t.TempDir() + "/terms.txt"
	writeTestFile(t, path, "\uFEFF# 本乡敏感词\n机密\n\n  低保名单  \n机密\n")
	terms, err := LoadTerms(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(terms, ",") != "机密,低保名单" {
		t.Fatalf("terms %q", terms)
	}
	writeTestFile(t, path, "# nothing\n")
	if _, err := LoadTerms(path); err == nil {
		t.Fatal("a file without terms was accepted")
	}
	writeTestFile(t, path, "\xbb\xfa\xc3\xdc\n") // 机密 in GBK
	if _, err := LoadTerms(path); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("a GBK file: %v", err)
	}
	if _, err := LoadTerms(path + ".missing"); err == nil {
		t.Fatal("a missing file was accepted")
	}
}
