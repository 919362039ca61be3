package review

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// DefaultTerms are the sensitive terms checked when no terms file is configured.
var DefaultTerms = []string{"绝密", "机密", "秘密", "内部资料", "内部文件", "不得外传", "涉密"}

// LoadTerms reads a sensitive-terms file: one term per line; blank lines and lines starting
// with # are skipped. The file replaces DefaultTerms.
func LoadTerms(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sensitive terms: %w", err)
	}
	defer f.Close()
	var terms []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		t := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\uFEFF"))
		if t == "" || strings.HasPrefix(t, "#") || seen[t] {
			continue
		}
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("sensitive terms %s: %q is not UTF-8 (save the file as UTF-8)", path, t)
		}
		seen[t] = true
		terms = append(terms, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sensitive terms %s: %w", path, err)
	}
	if len(terms) == 0 {
		return nil, fmt.Errorf("sensitive terms %s: no terms in the file", path)
	}
	return terms, nil
}
