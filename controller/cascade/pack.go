package cascade

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"time"
)

// A package is what travels over HTTP between platforms, as real deployments send it: a tar
// holding the message file (EBDB_<EBDID>.xml, or CAP_<name>.xml), its detached signature
// (EBDS_ + the message file's name) and any attached files by their own names.
type Package struct {
	Name      string // the message file's name
	Message   []byte
	Signature []byte // nil when the package has none
	Files     map[string][]byte
}

// MaxPackageBytes bounds a whole package (audio included).
const MaxPackageBytes = MaxAttachment + 4<<20

const sigPrefix = "EBDS_"

// ReadPackage unpacks a tar strictly: regular files with plain names, each once, exactly one
// message file.
func ReadPackage(r io.Reader) (*Package, error) {
	bad := func(format string, a ...any) error {
		return &ParseError{Code: ResultParse, Err: fmt.Errorf("package: "+format, a...)}
	}
	tr := tar.NewReader(io.LimitReader(r, MaxPackageBytes+1))
	files := map[string][]byte{}
	total := int64(0)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bad("not a tar archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, bad("%q is not a regular file", h.Name)
		}
		name := h.Name
		if name == "" || name != path.Base(name) || name == "." || name == ".." {
			return nil, bad("file name %q: want a plain name, no folders", h.Name)
		}
		if _, dup := files[name]; dup {
			return nil, bad("file %q twice", name)
		}
		if total += h.Size; total > MaxPackageBytes {
			return nil, bad("more than %d bytes", MaxPackageBytes)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, bad("read %s: %v", name, err)
		}
		files[name] = b
	}
	p := &Package{Files: files}
	for name := range files {
		if (strings.HasPrefix(name, "EBDB_") || strings.HasPrefix(name, "CAP_")) && strings.HasSuffix(name, ".xml") {
			if p.Name != "" {
				return nil, bad("two message files, %s and %s", p.Name, name)
			}
			p.Name = name
		}
	}
	if p.Name == "" {
		return nil, bad("no message file (EBDB_*.xml or CAP_*.xml)")
	}
	p.Message = files[p.Name]
	delete(files, p.Name)
	if sig, ok := files[sigPrefix+p.Name]; ok {
		p.Signature = sig
		delete(files, sigPrefix+p.Name)
	}
	return p, nil
}

// WriteTo writes the package as a tar.
func (p *Package) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg,
			Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if p.Name == "" {
		return 0, errors.New("package without a message file name")
	}
	if err := add(p.Name, p.Message); err != nil {
		return 0, err
	}
	if p.Signature != nil {
		if err := add(sigPrefix+p.Name, p.Signature); err != nil {
			return 0, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Files)) {
		if err := add(name, p.Files[name]); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return buf.WriteTo(w)
}

// Bytes is the package as a tar.
func (p *Package) Bytes() ([]byte, error) {
	var b bytes.Buffer
	_, err := p.WriteTo(&b)
	return b.Bytes(), err
}

// EBDFileName is the name of an envelope's message file.
func EBDFileName(ebdID string) string { return "EBDB_" + ebdID + ".xml" }
