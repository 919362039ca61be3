package tts

import (
	"bufio"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/normalize.golden with the current output")

const goldenFile = "testdata/normalize.golden"

// TestNormalizeGolden reads "input => expected" lines; comments (#) and blank lines are kept
// as they are by -update.
func TestNormalizeGolden(t *testing.T) {
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	cases := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		in, want, ok := strings.Cut(line, " => ")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			out = append(out, line)
			continue
		}
		if !ok {
			t.Fatalf("%s:%d: want \"input => expected\", got %q", goldenFile, n, line)
		}
		cases++
		got := Normalize(strings.ReplaceAll(in, `\n`, "\n"))
		out = append(out, in+" => "+got)
		if got != want && !*update {
			t.Errorf("%s:%d: Normalize(%q)\n got %s\nwant %s", goldenFile, n, in, got, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases < 25 {
		t.Errorf("only %d golden cases", cases)
	}
	if *update {
		if err := os.WriteFile(goldenFile, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCardinal(t *testing.T) {
	for in, want := range map[string]string{
		"0": "零", "7": "七", "10": "十", "11": "十一", "20": "二十", "101": "一百零一", "110": "一百一十",
		"1005": "一千零五", "1010": "一千零一十", "10000": "一万", "10010": "一万零一十", "100010": "十万零一十",
		"1000500": "一百万零五百", "1005000": "一百万五千", "100005000": "一亿零五千", "100010000": "一亿零一万",
		"200": "二百", "2000": "两千", "20000": "两万", "200000000": "两亿", "1000000000000": "一万亿",
		"0042": "四十二", "9999999999999999": "九千九百九十九万亿九千九百九十九亿九千九百九十九万九千九百九十九",
	} {
		if got := cardinal(in); got != want {
			t.Errorf("cardinal(%s) = %s, want %s", in, got, want)
		}
	}
}
