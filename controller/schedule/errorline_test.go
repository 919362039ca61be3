package schedule

import (
	"errors"
	"testing"
)

// The YAML errors that name no line (tabs, an unclosed quote, bytes that are not UTF-8, a bad
// second document) are pointed at the line where the file first goes wrong, counted as YAML and
// editors count lines.
func TestFileErrorsNameTheLine(t *testing.T) {
	const head = "schedules:\n  - id: morning\n"
	for _, c := range []struct {
		name, body string
		line       int
	}{
		{"tab in the indentation", head + "    name: 早间通知\n\tcron: \"@daily\"\n", 3}, // YAML's own line: where the mapping goes wrong
		{"unclosed quote", head + "    name: \"早间通知\n    cron: x\n    grace: 10m\n", 3},
		{"not UTF-8 (GBK)", head + "    name: \xd4\xe7\xbc\xe4\n", 3},
		{"control character", head + "    name: a\x01b\n", 3},
		{"CR line breaks", "schedules:\r  - id: morning\r    name: \"x\r    cron: y\r", 3},
		{"garbage after the document", head + "---\n[\n", 4},
		{"a second document", head + "    name: n\n---\nschedules: []\n", 4},
	} {
		_, err := parseFile("f.yaml", []byte(c.body))
		var fe *FileError
		if !errors.As(err, &fe) || fe.Line != c.line || fe.File != "f.yaml" || fe.Message == "" {
			t.Errorf("%s: %v (line %d), want f.yaml line %d", c.name, err, lineOf(fe), c.line)
		}
	}
}

func lineOf(fe *FileError) int {
	if fe == nil {
		return -1
	}
	return fe.Line
}
