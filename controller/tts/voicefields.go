package tts

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"dalaba/proto/wire"
)

// voiceField decodes one field of a voice file and checks its value.
type voiceField struct {
	required bool
	decode   func(v *Voice, n *yaml.Node) error
	check    func(v Voice) (msg string, sentinel error) // "" when fine
}

// engines lists the engine names voice files may use; a neural engine adds its name here.
var engines = []string{"espeak"}

// Accepted engine output rates: the system rate as is, or what audio.Convert resamples.
const minEngineRate, maxEngineRate = 8000, 48000

var voiceFields = map[string]voiceField{
	"name": {required: true, decode: str(func(v *Voice) *string { return &v.Name }),
		check: func(v Voice) (string, error) {
			return unless(namePattern.MatchString(v.Name), "want lower-case letters, digits and -, e.g. mandarin-female"), nil
		}},
	"description": {decode: str(func(v *Voice) *string { return &v.Description }), check: none},
	"engine": {required: true, decode: str(func(v *Voice) *string { return &v.Engine }),
		check: func(v Voice) (string, error) {
			return unless(slices.Contains(engines, v.Engine), fmt.Sprintf("unknown engine %q; known: %s", v.Engine, strings.Join(engines, ", "))), nil
		}},
	"voice": {required: true, decode: str(func(v *Voice) *string { return &v.Voice }), check: checkVoiceName},
	"speed": {required: true, decode: integer(func(v *Voice) *int { return &v.Speed }),
		check: func(v Voice) (string, error) {
			return unless(v.Speed >= 80 && v.Speed <= 450, fmt.Sprintf("%d words per minute; want 80..450 (espeak-ng's range; 175 is its default)", v.Speed)), nil
		}},
	"pitch": {required: true, decode: integer(func(v *Voice) *int { return &v.Pitch }),
		check: func(v Voice) (string, error) {
			return unless(v.Pitch >= 0 && v.Pitch <= 99, fmt.Sprintf("%d; want 0..99 (50 is the voice's own)", v.Pitch)), nil
		}},
	"volume": {required: true, decode: integer(func(v *Voice) *int { return &v.Volume }),
		check: func(v Voice) (string, error) {
			return unless(v.Volume >= 1 && v.Volume <= 200, fmt.Sprintf("%d; want 1..200 (100 is espeak-ng's default and already reaches full scale)", v.Volume)), nil
		}},
	"sample_rate": {required: true, decode: integer(func(v *Voice) *int { return &v.SampleRate }),
		check: func(v Voice) (string, error) {
			return unless(v.SampleRate == wire.SampleRate || v.SampleRate >= minEngineRate && v.SampleRate <= maxEngineRate,
				fmt.Sprintf("%d Hz; want the rate the engine writes (espeak-ng: 22050): the system rate %d, or %d..%d Hz to be resampled to it",
					v.SampleRate, wire.SampleRate, minEngineRate, maxEngineRate)), nil
		}},
	"default": {decode: func(v *Voice, n *yaml.Node) error {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return fmt.Errorf("want true or false, got %q", n.Value)
		}
		return n.Decode(&v.Default)
	}, check: none},
}

// checkVoiceName refuses what cannot be passed to the engine and espeak-ng's broken voices.
func checkVoiceName(v Voice) (string, error) {
	if !voicePattern.MatchString(v.Voice) {
		return fmt.Sprintf("%q; want letters, digits and _ / + -, not starting with -", v.Voice), nil
	}
	base, _, _ := strings.Cut(strings.ToLower(v.Voice), "+")
	if v.Engine == "espeak" && buggyEspeakVoices[base] {
		return fmt.Sprintf("%q is espeak-ng's cmn voice, which reads many hanzi as English letters and tone digits "+
			"(公开 as \"gong one kai one\"; espeak-ng 1.51 reads its own pinyin as English); use cmn-latn-pinyin, "+
			"optionally with a variant such as cmn-latn-pinyin+f3", v.Voice), ErrBuggyVoice
	}
	return "", nil
}

func str(field func(*Voice) *string) func(*Voice, *yaml.Node) error {
	return func(v *Voice, n *yaml.Node) error {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || strings.TrimSpace(n.Value) == "" {
			return fmt.Errorf("want a non-empty string, got %q", n.Value)
		}
		*field(v) = strings.TrimSpace(n.Value)
		return nil
	}
}

func integer(field func(*Voice) *int) func(*Voice, *yaml.Node) error {
	return func(v *Voice, n *yaml.Node) error {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return fmt.Errorf("want a whole number, got %q", n.Value)
		}
		if err := n.Decode(field(v)); err != nil {
			return fmt.Errorf("want a whole number: %v", err)
		}
		return nil
	}
}

func none(Voice) (string, error) { return "", nil }

func unless(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}

func fieldNames() []string {
	names := make([]string, 0, len(voiceFields))
	for n := range voiceFields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
