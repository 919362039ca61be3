package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// floorName is the file in the state directory holding the highest command sequence number
// this terminal accepted, in decimal: after a restart nothing at or below it is accepted.
const floorName = "command-floor"

// floorFile keeps the verifier's floor on disk. Each write is whole or absent (a temporary
// file, synced, renamed over the old one, the directory synced), so a power cut leaves the
// old number or the new one.
type floorFile struct {
	path string
	mu   sync.Mutex
	kept uint64 // on disk now
}

// openFloor reads the floor in dir, creating dir if needed, and proves it can be written by
// writing it back. A missing file is a first start: floor 0. A file that does not hold a
// number (it cannot be half-written, so the disk or someone damaged it) is moved aside and
// the floor starts from 0, loudly: refusing to start would silence the horn until someone
// climbs the pole, while starting from 0 only lets a command this terminal already took in
// the last 24 h (older ones are stale) be replayed, once, by someone who captured it. A
// directory that cannot be read or written is refused: that is a setup error to fix now.
func openFloor(dir string, log *slog.Logger) (*floorFile, uint64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, fmt.Errorf("state directory: %w", err)
	}
	f := &floorFile{path: filepath.Join(dir, floorName)}
	b, err := os.ReadFile(f.path)
	var floor uint64
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("no command floor yet (first start): accepting commands from sequence 0", "file", f.path)
	case err != nil:
		return nil, 0, fmt.Errorf("state directory: %w", err)
	default:
		n, perr := parseFloor(b)
		if perr != nil {
			aside := f.path + ".corrupt"
			os.Rename(f.path, aside)
			log.Error("command floor file is damaged: starting from 0, so a command accepted in the last 24 h before this restart could be replayed once; the damaged file is kept for inspection",
				"file", f.path, "moved_to", aside, "err", perr)
		} else {
			floor = n
		}
	}
	if err := f.write(floor); err != nil {
		return nil, 0, fmt.Errorf("state directory: cannot save the command floor: %w", err)
	}
	return f, floor, nil
}

func parseFloor(b []byte) (uint64, error) {
	s, ok := strings.CutSuffix(string(b), "\n")
	if !ok {
		return 0, fmt.Errorf("%q does not end in a newline", clipBytes(b))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a sequence number", clipBytes(b))
	}
	return n, nil
}

func clipBytes(b []byte) []byte { return b[:min(len(b), 40)] }

// raise saves seq if it is above what is saved.
func (f *floorFile) raise(seq uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq <= f.kept {
		return nil
	}
	return f.writeLocked(seq)
}

func (f *floorFile) write(seq uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writeLocked(seq)
}

func (f *floorFile) writeLocked(seq uint64) error {
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+floorName+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	_, err = tmp.WriteString(strconv.FormatUint(seq, 10) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return err
	}
	f.kept = seq
	return nil
}
