package audio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dalaba/controller/store"
)

func newTestPrograms(t *testing.T) (*Programs, *store.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := NewPrograms(dir, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return p, db, dir
}

func tonePCM(freq float64, dur time.Duration) []byte {
	return int16sToBytes(Tone(freq, dur, 16000, 1, 0.5))
}

func TestProgramsPutIsIdempotent(t *testing.T) {
	p, db, dir := newTestPrograms(t)
	ctx := context.Background()
	pcm := tonePCM(1000, 2*time.Second)
	sum := sha256.Sum256(pcm)
	wantID := hex.EncodeToString(sum[:])

	first, err := p.Put(ctx, pcm, "wav 16000Hz 1ch 16bit 2.00s")
	if err != nil {
		t.Fatal(err)
	}
	want := Program{ID: wantID, Bytes: 64000, Duration: 2 * time.Second}
	if first != want {
		t.Fatalf("Put = %+v, want %+v", first, want)
	}
	second, err := p.Put(ctx, pcm, "uploaded again")
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatalf("second Put = %+v, want %+v", second, first)
	}

	var rows int
	var source string
	var size int64
	if err := db.QueryRow(`SELECT count(*), max(source), max(bytes) FROM programs`).Scan(&rows, &source, &size); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || source != "wav 16000Hz 1ch 16bit 2.00s" || size != 64000 {
		t.Errorf("programs table: %d rows, source %q, bytes %d; want 1 row from the first Put", rows, source, size)
	}

	// Only the final file is left: no temp files from the atomic write.
	entries, err := os.ReadDir(filepath.Join(dir, "programs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != wantID+".pcm" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("programs dir holds %v, want just %s.pcm", names, wantID)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "programs", wantID+".pcm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, pcm) {
		t.Fatal("file content differs from the PCM put")
	}
}

func TestProgramsGet(t *testing.T) {
	p, db, dir := newTestPrograms(t)
	pcm := tonePCM(440, time.Second)
	prog, err := p.Put(context.Background(), pcm, "test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Get(prog.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pcm) {
		t.Fatal("Get returned different bytes than Put stored")
	}
	if got, err := p.Get(strings.ToUpper(prog.ID)); err != nil || !bytes.Equal(got, pcm) {
		t.Fatalf("Get(upper-case id) = %d bytes, %v", len(got), err)
	}

	// A fresh Programs (a restarted controller) reads the file, once, for many fetchers.
	cold, err := NewPrograms(dir, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			b, err := cold.Get(prog.ID)
			if err == nil && !bytes.Equal(b, pcm) {
				err = errors.New("different bytes")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent cold Get: %v", err)
	}
	if n := cold.loads.Load(); n != 1 {
		t.Errorf("200 concurrent Gets read the file %d times, want 1", n)
	}
}

func TestProgramsGetUnknown(t *testing.T) {
	p, _, _ := newTestPrograms(t)
	missing := strings.Repeat("ab", 32)
	for _, id := range []string{missing, "", "abc", strings.Repeat("g", 64), "../../../../etc/passwd", missing + "00"} {
		t.Run(id, func(t *testing.T) {
			b, err := p.Get(id)
			if !errors.Is(err, ErrUnknownProgram) {
				t.Fatalf("Get(%q) = %d bytes, %v; want ErrUnknownProgram", id, len(b), err)
			}
		})
	}
}

func TestProgramsGetDetectsCorruption(t *testing.T) {
	p, db, dir := newTestPrograms(t)
	prog, err := p.Put(context.Background(), tonePCM(440, 100*time.Millisecond), "test")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "programs", prog.ID+".pcm")
	b, _ := os.ReadFile(path)
	b[100] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cold, err := NewPrograms(dir, db, slog.New(slog.NewTextHandler(io.Discard, nil))) // the warm one still holds the good copy in memory
	if err != nil {
		t.Fatal(err)
	}
	_, err = cold.Get(prog.ID)
	if err == nil || errors.Is(err, ErrUnknownProgram) || !strings.Contains(err.Error(), "does not match its sha256") {
		t.Fatalf("Get of corrupt file: %v; want a checksum error", err)
	}
}

func TestProgramsPutRejectsEmptyAndOdd(t *testing.T) {
	p, _, _ := newTestPrograms(t)
	for _, pcm := range [][]byte{nil, {1, 2, 3}} {
		if _, err := p.Put(context.Background(), pcm, "test"); err == nil {
			t.Errorf("Put(%d bytes): want an error", len(pcm))
		}
	}
}

func TestProgramsRemovesLeftoverTempFiles(t *testing.T) {
	_, db, dir := newTestPrograms(t)
	leftover := filepath.Join(dir, "programs", ".deadbeef.pcm.tmp12345")
	if err := os.WriteFile(leftover, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPrograms(dir, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover temp file still there (stat err %v)", err)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newPCMCache(10)
	loads := 0
	load := func(b []byte) func() ([]byte, error) {
		return func() ([]byte, error) { loads++; return b, nil }
	}
	c.get("a", load(make([]byte, 4)))
	c.get("b", load(make([]byte, 4)))
	c.get("a", load(nil)) // a is now the most recent
	c.get("c", load(make([]byte, 4)))
	if loads != 3 {
		t.Fatalf("%d loads, want 3 (a, b, c)", loads)
	}
	if _, ok := c.entries["b"]; ok {
		t.Error("b should have been evicted as least recently used")
	}
	if _, ok := c.entries["a"]; !ok {
		t.Error("a should still be cached")
	}
	if c.size != 8 {
		t.Errorf("cache size %d, want 8", c.size)
	}
}
