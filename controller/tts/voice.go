package tts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Voice is one voice definition: a YAML file in tts-voices/ named after the voice.
type Voice struct {
	Name        string // equals the file name without .yaml; what Speak is asked for
	Description string // for people choosing a voice; optional
	Engine      string // "espeak"
	Voice       string // the engine's voice, e.g. cmn-latn-pinyin+f3
	Speed       int    // words per minute (espeak-ng -s), 80..450
	Pitch       int    // 0..99 (espeak-ng -p), 50 is the voice's own
	Volume      int    // amplitude 1..200 (espeak-ng -a), 100 is the engine's default
	SampleRate  int    // Hz the engine writes; resampled to wire.SampleRate when different
	Default     bool   // the voice used when none is named; exactly one voice has it
	File        string // where it was loaded from, for messages
}

// FieldError is a problem with one field of one voice file.
type FieldError struct {
	File, Field string
	Line        int // 0 when the field is missing
	Msg         string
	Err         error // a sentinel such as ErrBuggyVoice, or nil
}

func (e *FieldError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: field %s: %s", e.File, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s:%d: field %s: %s", e.File, e.Line, e.Field, e.Msg)
}

func (e *FieldError) Unwrap() error { return e.Err }

var (
	namePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	voicePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_/+-]*$`) // also keeps options out of argv
	// Names that reach espeak-ng's broken cmn voice (see espeak.go).
	buggyEspeakVoices = map[string]bool{"cmn": true, "zh": true, "zh-cmn": true, "sit/cmn": true}
)

// LoadVoices reads every *.yaml file in dir, one voice per file, and validates all of them,
// returning every problem found (errors.Join) rather than the first.
func LoadVoices(dir string) (map[string]Voice, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("voices %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("voices %s: no *.yaml voice files", dir)
	}
	sort.Strings(files)
	voices := make(map[string]Voice, len(files))
	var errs []error
	var def []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("voice %w", err))
			continue
		}
		v, err := parseVoice(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		voices[v.Name] = v
		if v.Default {
			def = append(def, f)
		}
	}
	if len(errs) == 0 && len(def) != 1 {
		errs = append(errs, fmt.Errorf("voices %s: exactly one voice needs default: true, found %d %v", dir, len(def), def))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return voices, nil
}

// parseVoice reads one file field by field, so a wrong type is reported against its field
// (yaml.v3 alone says only "cannot unmarshal !!str into int" and a line).
func parseVoice(file string, data []byte) (Voice, error) {
	v := Voice{File: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return v, fmt.Errorf("%s: not valid YAML: %w", file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return v, fmt.Errorf("%s: want a mapping of fields (name: ..., engine: ..., voice: ...)", file)
	}
	root := doc.Content[0]
	seen := map[string]int{} // field -> line
	var order []string       // fields that decoded, in file order
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, val := root.Content[i], root.Content[i+1]
		f, ok := voiceFields[k.Value]
		switch {
		case !ok:
			errs = append(errs, &FieldError{File: file, Field: k.Value, Line: k.Line,
				Msg: "unknown field; known: " + strings.Join(fieldNames(), ", ")})
		case seen[k.Value] != 0:
			errs = append(errs, &FieldError{File: file, Field: k.Value, Line: k.Line,
				Msg: fmt.Sprintf("given twice (first on line %d)", seen[k.Value])})
		default:
			seen[k.Value] = k.Line
			if err := f.decode(&v, val); err != nil {
				errs = append(errs, &FieldError{File: file, Field: k.Value, Line: val.Line, Msg: err.Error()})
			} else {
				order = append(order, k.Value)
			}
		}
	}
	// Checks run once every field is in, as some depend on others (voice on engine).
	for _, name := range order {
		if msg, sentinel := voiceFields[name].check(v); msg != "" {
			errs = append(errs, &FieldError{File: file, Field: name, Line: seen[name], Msg: msg, Err: sentinel})
		}
	}
	for _, name := range fieldNames() {
		if voiceFields[name].required && seen[name] == 0 {
			errs = append(errs, &FieldError{File: file, Field: name, Msg: "missing"})
		}
	}
	if stem := strings.TrimSuffix(filepath.Base(file), ".yaml"); seen["name"] != 0 && v.Name != stem && len(errs) == 0 {
		errs = append(errs, &FieldError{File: file, Field: "name", Line: seen["name"],
			Msg: fmt.Sprintf("%q differs from the file name; name the file %s.yaml", v.Name, v.Name)})
	}
	return v, errors.Join(errs...)
}
