package controller_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const benchDoc = "../docs/BENCHMARKS.md"

// writeBenchReport puts a benchmark's section into docs/BENCHMARKS.md, replacing the one from
// an earlier run, with the machine and the command that produced it.
func writeBenchReport(tb testing.TB, name, body string) {
	begin, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
	section := fmt.Sprintf("%s\n### %s\n\n%s\nMeasured %s on %s; %s.\nCommand: `make bench` (`go test -run '^$' -bench . -benchtime 20x ./controller/`).\n%s",
		begin, name, body, time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), runtime.Version(), end)
	old, err := os.ReadFile(benchDoc)
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	doc := string(old)
	if doc == "" {
		doc = "# Benchmarks\n\nWritten by `make bench`; each section is replaced when its benchmark runs again.\n"
	}
	if i, j := strings.Index(doc, begin), strings.Index(doc, end); i >= 0 && j > i {
		doc = doc[:i] + section + doc[j+len(end):]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section + "\n"
	}
	if err := os.MkdirAll(filepath.Dir(benchDoc), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(benchDoc, []byte(doc), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// machine describes this computer: CPU model and count, memory.
func machine() string {
	model := runtime.GOARCH
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	return fmt.Sprintf("%d × %s%s", runtime.NumCPU(), model, mem)
}
