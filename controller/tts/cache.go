package tts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// diskCache keeps synthesized PCM as files named by content hash, so a scheduled notice
// repeated every morning is synthesized once. An empty dir disables it. Nothing evicts files
// yet: a minute of speech is 1.9 MB, so a handful of new notices a day comes to about a
// gigabyte a year; the directory can be emptied at any time.
type diskCache struct{ dir string }

func (c diskCache) path(key string) string { return filepath.Join(c.dir, key+".pcm") }

// get returns the cached PCM; a missing, empty or odd-length file (a crash mid-write on a
// filesystem that does not order rename after data) is a miss and is synthesized again.
func (c diskCache) get(key string) ([]byte, bool) {
	if c.dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil || len(b) == 0 || len(b)%2 != 0 {
		return nil, false
	}
	return b, true
}

// put writes to a temporary file and renames it into place, so a reader never sees a
// partial file.
func (c diskCache) put(key string, pcm []byte) error {
	if c.dir == "" {
		return nil
	}
	f, err := os.CreateTemp(c.dir, key+".*.tmp")
	if err != nil {
		return fmt.Errorf("tts cache: %w", err)
	}
	_, werr := f.Write(pcm)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("tts cache: write %s: %w", f.Name(), errors.Join(err, os.Remove(f.Name())))
	}
	if err := os.Rename(f.Name(), c.path(key)); err != nil {
		return fmt.Errorf("tts cache: %w", errors.Join(err, os.Remove(f.Name())))
	}
	return nil
}

// flight runs one synthesis per key at a time: concurrent Speak calls for the same text (a
// schedule firing while an operator previews it) wait for the first instead of running the
// engine again.
type flight struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done chan struct{}
	pcm  []byte
	err  error
}

func (f *flight) do(ctx context.Context, key string, fn func() ([]byte, error)) ([]byte, error) {
	for {
		f.mu.Lock()
		if f.calls == nil {
			f.calls = make(map[string]*call)
		}
		if c, ok := f.calls[key]; ok {
			f.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			// The first caller gave up (its context ended), not the engine: try again
			// ourselves rather than inherit its cancellation.
			if isContextErr(c.err) && ctx.Err() == nil {
				continue
			}
			return c.pcm, c.err
		}
		c := &call{done: make(chan struct{})}
		f.calls[key] = c
		f.mu.Unlock()

		c.pcm, c.err = fn()
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
		return c.pcm, c.err
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
