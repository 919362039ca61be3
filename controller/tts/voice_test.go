package tts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const shippedVoices = "../../tts-voices"

func TestLoadShippedVoices(t *testing.T) {
	voices, err := LoadVoices(shippedVoices)
	if err != nil {
		t.Fatal(err)
	}
	female, slow := voices["mandarin-female"], voices["mandarin-slow"]
	if !female.Default || slow.Default {
		t.Errorf("default: mandarin-female %v, mandarin-slow %v; want only mandarin-female", female.Default, slow.Default)
	}
	if slow.Speed >= female.Speed {
		t.Errorf("mandarin-slow speaks at %d wpm, not slower than mandarin-female's %d", slow.Speed, female.Speed)
	}
	for _, v := range voices {
		if v.Engine != "espeak" || !strings.HasPrefix(v.Voice, "cmn-latn-pinyin") {
			t.Errorf("%s: engine %s voice %s", v.File, v.Engine, v.Voice)
		}
	}
}

// writeVoice writes one voice file into dir, named after the voice.
func writeVoice(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodVoice = `name: %s
engine: espeak
voice: cmn-latn-pinyin
speed: 160
pitch: 50
volume: 80
sample_rate: 22050
`

func voiceYAML(name string, replace ...string) string {
	return strings.NewReplacer(replace...).Replace(strings.Replace(goodVoice, "%s", name, 1)) + "default: true\n"
}

func TestLoadVoicesRefusesCmn(t *testing.T) {
	for _, voice := range []string{"cmn", "zh", "zh-cmn", "cmn+f3", "CMN", "sit/cmn"} {
		dir := t.TempDir()
		path := writeVoice(t, dir, "bad", voiceYAML("bad", "voice: cmn-latn-pinyin", "voice: "+voice))
		_, err := LoadVoices(dir)
		var fe *FieldError
		if !errors.Is(err, ErrBuggyVoice) || !errors.As(err, &fe) || fe.File != path || fe.Field != "voice" {
			t.Fatalf("voice %s: got %v, want a FieldError on %s field voice wrapping ErrBuggyVoice", voice, err, path)
		}
		if !strings.Contains(err.Error(), "cmn-latn-pinyin") || !strings.Contains(err.Error(), "tone digits") {
			t.Errorf("voice %s: message does not say why or what to use instead: %v", voice, err)
		}
	}
}

func TestLoadVoicesMalformed(t *testing.T) {
	for _, c := range []struct {
		name, yaml, field, says string
	}{
		{"speed-word", voiceYAML("v", "speed: 160", "speed: fast"), "speed", `want a whole number, got "fast"`},
		{"speed-range", voiceYAML("v", "speed: 160", "speed: 20"), "speed", "want 80..450"},
		{"pitch-range", voiceYAML("v", "pitch: 50", "pitch: 120"), "pitch", "want 0..99"},
		{"volume-zero", voiceYAML("v", "volume: 80", "volume: 0"), "volume", "want 1..200"},
		{"rate", voiceYAML("v", "sample_rate: 22050", "sample_rate: 4000"), "sample_rate", "16000"},
		{"engine", voiceYAML("v", "engine: espeak", "engine: festival"), "engine", `unknown engine "festival"`},
		{"voice-option", voiceYAML("v", "voice: cmn-latn-pinyin", "voice: --help"), "voice", "not starting with -"},
		{"missing-voice", voiceYAML("v", "voice: cmn-latn-pinyin\n", ""), "voice", "missing"},
		{"typo", voiceYAML("v", "speed:", "sped:"), "sped", "unknown field"},
		{"twice", voiceYAML("v") + "pitch: 40\n", "pitch", "given twice"},
		{"name-not-file", voiceYAML("other"), "name", "name the file other.yaml"},
		{"default-word", voiceYAML("v", "name: v\n", "name: v\ndefault: yes\n"), "default", "want true or false"},
		{"empty-string", voiceYAML("v", "voice: cmn-latn-pinyin", `voice: ""`), "voice", "non-empty string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeVoice(t, dir, "v", c.yaml)
			_, err := LoadVoices(dir)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FieldError", err)
			}
			if fe.File != path || fe.Field != c.field || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v (file %s, field %s), want file %s field %s saying %q", err, fe.File, fe.Field, path, c.field, c.says)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "field "+c.field) {
				t.Fatalf("message %q does not name the file and field", err)
			}
		})
	}
}

func TestLoadVoicesWholeFileProblems(t *testing.T) {
	for _, c := range []struct{ name, yaml, says string }{
		{"not-yaml", "name: [unclosed", "not valid YAML"},
		{"list", "- name: v\n", "want a mapping"},
		{"empty", "", "want a mapping"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeVoice(t, dir, "v", c.yaml)
			_, err := LoadVoices(dir)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, path, c.says)
			}
		})
	}
}

func TestLoadVoicesDefaults(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadVoices(dir); err == nil || !strings.Contains(err.Error(), "no *.yaml") {
		t.Fatalf("empty dir: %v", err)
	}
	writeVoice(t, dir, "a", strings.Replace(goodVoice, "%s", "a", 1))
	if _, err := LoadVoices(dir); err == nil || !strings.Contains(err.Error(), "exactly one voice needs default: true, found 0") {
		t.Fatalf("no default: %v", err)
	}
	writeVoice(t, dir, "b", voiceYAML("b"))
	writeVoice(t, dir, "c", voiceYAML("c"))
	if _, err := LoadVoices(dir); err == nil || !strings.Contains(err.Error(), "found 2") {
		t.Fatalf("two defaults: %v", err)
	}
}
