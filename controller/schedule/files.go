package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// A schedule file (schedules/*.yaml or *.yml) holds a list of schedules:
//
//	schedules:
//	  - id: caoxi-morning
//	    name: 曹溪村每日早间通知
//	    announcement: caoxi-morning-notice
//	    to: village:361126104201
//	    cron: "30 7 * * *"
//	    timezone: Asia/Shanghai
//	    grace: 10m
type fileDoc struct {
	Schedules []Def `yaml:"schedules"`
}

// fileDef is a Def and where it was written, so errors can point at the line.
type fileDef struct {
	Def
	file string
	node *yaml.Node // the schedule's mapping
}

// FileError is a schedule file that cannot be applied: which file, line (0 when unknown), field
// and why; Message says it to staff in Chinese.
type FileError struct {
	File    string
	Line    int
	Field   string
	Message string
	Err     error
}

func (e *FileError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		where += ": field " + e.Field
	}
	return where + ": " + e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

// readFiles reads every schedule file in dir, in name order. A missing dir is no files.
func readFiles(dir string) ([]fileDef, []string, error) {
	var names []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, nil, err
		}
		names = append(names, m...)
	}
	sort.Strings(names)
	if len(names) == 0 {
		if _, err := os.Stat(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("schedule files: %w", err)
		}
	}
	var defs []fileDef
	var errs []error
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, &FileError{File: name, Message: "无法读取日程文件", Err: err})
			continue
		}
		fd, err := parseFile(name, b)
		if err != nil {
			errs = append(errs, err)
		}
		defs = append(defs, fd...)
	}
	return defs, names, errors.Join(errs...)
}

// parseFile reads one file. Unknown fields are errors, so a misspelt "corn:" cannot silently
// leave a schedule without its timing.
func parseFile(name string, b []byte) ([]fileDef, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var doc fileDoc
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, b, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil: // what follows the first document does not parse
		return nil, yamlError(name, b, err)
	default:
		line := extra.Line
		if line == 0 && len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, &FileError{File: name, Line: line, Message: "每个日程文件只能有一个 YAML 文档", Err: errors.New("more than one YAML document")}
	}
	// A second pass keeps the nodes, for the line of each schedule and field.
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, yamlError(name, b, err)
	}
	items := scheduleNodes(&root)
	out := make([]fileDef, len(doc.Schedules))
	for i, d := range doc.Schedules {
		out[i] = fileDef{Def: d, file: name}
		if i < len(items) {
			out[i].node = items[i]
		}
	}
	return out, nil
}

func scheduleNodes(root *yaml.Node) []*yaml.Node {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "schedules" {
			return m.Content[i+1].Content
		}
	}
	return nil
}

// line is where field is set in a schedule's mapping, or the schedule's own line.
func (fd fileDef) line(field string) int {
	if fd.node == nil {
		return 0
	}
	for i := 0; i+1 < len(fd.node.Content); i += 2 {
		if fd.node.Content[i].Value == field {
			return fd.node.Content[i].Line
		}
	}
	return fd.node.Line
}

var (
	yamlLine    = regexp.MustCompile(`line (\d+): (.*)`)
	yamlUnknown = regexp.MustCompile(`field (\S+) not found`)
)

// yamlError turns the YAML decoder's error into a FileError with the line and field it names,
// or, for the errors that name none (a tab in the indentation, an unclosed quote, bytes that are
// not UTF-8), the line where the file first goes wrong.
func yamlError(name string, b []byte, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	fe := &FileError{File: name, Message: "日程文件格式错误", Err: err}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
		fe.Err = errors.New(m[2])
	}
	if m := yamlUnknown.FindStringSubmatch(msg); m != nil {
		fe.Field, fe.Message = m[1], "日程文件中有不认识的字段 "+m[1]
	}
	if fe.Line == 0 {
		fe.Line = errorLine(b, err.Error())
	}
	return fe
}

// errorLine is the first line by which the file already fails with the error msg: the shortest
// run of whole lines from the top that gives it (0 if none does). Files are short, and a prefix
// that fails keeps failing as lines are added, so a binary search finds it.
func errorLine(b []byte, msg string) int {
	lines := yamlLines(b)
	fails := func(k int) bool { // every document, as the file's own reading goes past the first
		dec := yaml.NewDecoder(bytes.NewReader(bytes.Join(lines[:k], nil)))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				return err.Error() == msg
			}
		}
	}
	if !fails(len(lines)) {
		return 0
	}
	lo, hi := 1, len(lines) // fails(hi)
	for lo < hi {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// yamlLines splits b after each line break as YAML counts them (so its line numbers match
// ours): CR LF, LF, a lone CR, NEL, LS and PS.
func yamlLines(b []byte) [][]byte {
	var lines [][]byte
	for start, i := 0, 0; ; {
		n := 0
		switch {
		case i >= len(b):
			return append(lines, b[start:])
		case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
			n = 2
		case b[i] == '\n' || b[i] == '\r':
			n = 1
		case bytes.HasPrefix(b[i:], []byte("\u0085")):
			n = 2
		case bytes.HasPrefix(b[i:], []byte("\u2028")) || bytes.HasPrefix(b[i:], []byte("\u2029")):
			n = 3
		}
		if n == 0 {
			i++
			continue
		}
		i += n
		lines = append(lines, b[start:i])
		start = i
	}
}
