package audio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"dalaba/controller/store"
	"dalaba/proto/wire"
)

// ErrUnknownProgram means no program has that id (or the id is not a program id at all).
var ErrUnknownProgram = errors.New("unknown program")

// Program is a stored, converted program.
type Program struct {
	ID       string // lowercase hex sha256 of the PCM
	Bytes    int64
	Duration time.Duration
}

// Programs stores converted PCM as dir/programs/<id>.pcm and records each in the database.
// Files are named by content hash, so they never change once written.
type Programs struct {
	dir   string
	db    *store.DB
	cache *pcmCache
	log   *slog.Logger
	loads atomic.Int64 // files read from disk, so tests can see the cache working
}

// NewPrograms prepares dir/programs and removes temp files left by a crash mid-Put.
func NewPrograms(dir string, db *store.DB, log *slog.Logger) (*Programs, error) {
	pdir := filepath.Join(dir, "programs")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return nil, fmt.Errorf("programs: create %s: %w", pdir, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(pdir, ".*.tmp*"))
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil {
			log.Warn("programs: cannot remove leftover temp file", "file", f, "err", err)
		}
	}
	return &Programs{dir: pdir, db: db, cache: newPCMCache(defaultCacheBytes), log: log}, nil
}

// Put stores pcm (system format) and returns its program. Storing the same audio again is a
// no-op that returns the same program: the id is the content hash.
func (p *Programs) Put(ctx context.Context, pcm []byte, source string) (Program, error) {
	if len(pcm) == 0 || len(pcm)%(wire.BitsPerSample/8*wire.Channels) != 0 {
		return Program{}, fmt.Errorf("put program: %d bytes is not whole non-empty %d-bit PCM", len(pcm), wire.BitsPerSample)
	}
	sum := sha256.Sum256(pcm)
	prog := Program{ID: hex.EncodeToString(sum[:]), Bytes: int64(len(pcm)), Duration: pcmDuration(len(pcm))}

	path := p.path(prog.ID)
	if fi, err := os.Stat(path); err == nil && fi.Size() == prog.Bytes {
		// Already on disk from an earlier upload; the name vouches for the content.
	} else if err := writeAtomic(path, pcm); err != nil {
		return Program{}, fmt.Errorf("put program %s: %w", prog.ID, err)
	}
	// The file goes first so a row never points at a missing file.
	_, err := p.db.ExecContext(ctx,
		`INSERT OR IGNORE INTO programs (id, bytes, source, created_ms) VALUES (?, ?, ?, ?)`,
		prog.ID, prog.Bytes, source, time.Now().UnixMilli())
	if err != nil {
		return Program{}, fmt.Errorf("put program %s: record: %w", prog.ID, err)
	}
	// Programs are broadcast right after upload, so warm the cache now.
	// Cloned: the caller owns pcm and the cache hands its copy to every fetch.
	p.cache.put(prog.ID, bytes.Clone(pcm))
	p.log.Info("program stored", "program", prog.ID, "bytes", prog.Bytes, "duration", prog.Duration, "source", source)
	return prog, nil
}

// Get returns a program's PCM. The slice is shared with the cache and other callers: do not
// modify it. Concurrent Gets of a program not in the cache read its file once.
func (p *Programs) Get(id string) ([]byte, error) {
	id = strings.ToLower(id)
	if !validID(id) {
		if len(id) > 80 {
			id = id[:80] + "..." // ids come from the network; keep logs readable
		}
		return nil, fmt.Errorf("%w: %q is not a program id (64 hex digits)", ErrUnknownProgram, id)
	}
	return p.cache.get(id, func() ([]byte, error) { return p.load(id) })
}

// load reads a program file and checks it against its name, so disk corruption is caught
// before the audio goes out to thousands of loudspeakers.
func (p *Programs) load(id string) ([]byte, error) {
	p.loads.Add(1)
	b, err := os.ReadFile(p.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownProgram, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read program %s: %w", id, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != id {
		p.log.Error("program file corrupt", "program", id, "file", p.path(id))
		return nil, fmt.Errorf("read program %s: file content does not match its sha256 (corrupt on disk)", id)
	}
	return b, nil
}

func (p *Programs) path(id string) string { return filepath.Join(p.dir, id+".pcm") }

// writeAtomic writes via temp file + fsync + rename + directory fsync, so a crash leaves
// either no file or the whole file under its final name.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

func validID(id string) bool {
	if len(id) != sha256.Size*2 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func pcmDuration(n int) time.Duration {
	return time.Duration(n) * time.Second / wire.BytesPerSecond
}
