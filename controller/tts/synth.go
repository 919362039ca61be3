package tts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"dalaba/controller/audio"
	"dalaba/proto/wire"
)

// maxWAVBytes bounds engine output handed to audio.Convert: MaxTextRunes at the slowest
// speed is well under 100 MB of 22050 Hz audio.
const maxWAVBytes = 256 << 20

// Synthesizer speaks text with the voices of a tts-voices directory and returns system-format
// PCM, cached on disk by content.
type Synthesizer struct {
	voices  map[string]Voice
	def     string
	engines map[string]Engine
	cache   diskCache
	flight  flight
	log     *slog.Logger
}

// New loads the voices in voicesDir, checks each one by synthesizing a probe (see selfCheck)
// and caches PCM in cacheDir ("" disables the cache). The espeak engine runs espeak-ng from
// PATH; engines given replace built-in ones of the same Name (tests wrap or break them).
func New(voicesDir, cacheDir string, log *slog.Logger, engines ...Engine) (*Synthesizer, error) {
	voices, err := LoadVoices(voicesDir)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Synthesizer{voices: voices, cache: diskCache{dir: cacheDir}, log: log,
		engines: map[string]Engine{"espeak": NewEspeak()}}
	for _, e := range engines {
		s.engines[e.Name()] = e
	}
	for _, v := range voices {
		if v.Default {
			s.def = v.Name
		}
	}
	if cacheDir != "" {
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("tts cache: %w", err)
		}
	}
	for _, name := range s.Voices() {
		if err := s.selfCheck(context.Background(), voices[name]); err != nil {
			return nil, fmt.Errorf("tts self-check of voice %s (%s): %w", name, voices[name].File, err)
		}
	}
	log.Info("tts ready", "voices", s.Voices(), "default", s.def, "cache", cacheDir)
	return s, nil
}

// Voices lists the voice names, sorted.
func (s *Synthesizer) Voices() []string {
	names := make([]string, 0, len(s.voices))
	for n := range s.voices {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultVoice is the voice used when Speak is given no voice name.
func (s *Synthesizer) DefaultVoice() string { return s.def }

// CheckVoiceName says whether name is a voice here; "" (the default voice) always is.
func (s *Synthesizer) CheckVoiceName(name string) error {
	if _, ok := s.voices[name]; name != "" && !ok {
		return fmt.Errorf("%w: %q; have %s", ErrUnknownVoice, name, strings.Join(s.Voices(), ", "))
	}
	return nil
}

// Speak returns text spoken by the named voice ("" for the default) as wire.SampleRate mono
// s16le PCM. Concurrent callers asking for the same speech may share the returned slice: do
// not modify it.
func (s *Synthesizer) Speak(ctx context.Context, text, voiceName string) ([]byte, error) {
	v, norm, err := s.prepare(text, voiceName)
	if err != nil {
		return nil, err
	}
	key := cacheKey(v, norm)
	return s.flight.do(ctx, key, func() ([]byte, error) {
		if pcm, ok := s.cache.get(key); ok {
			return pcm, nil
		}
		pcm, err := s.synthesize(ctx, v, norm)
		if err != nil {
			return nil, err
		}
		if err := s.cache.put(key, pcm); err != nil {
			s.log.Warn("tts cache write failed; speech is still returned", "voice", v.Name, "err", err)
		}
		return pcm, nil
	})
}

// Preview is Speak as a 16 kHz mono WAV, for a browser to play.
func (s *Synthesizer) Preview(ctx context.Context, text, voiceName string) ([]byte, error) {
	pcm, err := s.Speak(ctx, text, voiceName)
	if err != nil {
		return nil, err
	}
	return audio.EncodeWAV(samples(pcm), wire.SampleRate, wire.Channels)
}

// prepare validates a request and normalizes its text.
func (s *Synthesizer) prepare(text, voiceName string) (Voice, string, error) {
	if strings.TrimSpace(text) == "" {
		return Voice{}, "", ErrEmptyText
	}
	if n := utf8.RuneCountInString(text); n > MaxTextRunes {
		return Voice{}, "", fmt.Errorf("%w: %d characters, at most %d", ErrTextTooLong, n, MaxTextRunes)
	}
	if voiceName == "" {
		voiceName = s.def
	}
	v, ok := s.voices[voiceName]
	if !ok {
		return Voice{}, "", fmt.Errorf("%w: %q; have %s", ErrUnknownVoice, voiceName, strings.Join(s.Voices(), ", "))
	}
	norm := Normalize(text)
	if strings.IndexFunc(norm, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) < 0 {
		return Voice{}, "", fmt.Errorf("%w: nothing to say in %q", ErrEmptyText, text)
	}
	return v, norm, nil
}

// synthesize runs the engine and converts its WAV to system PCM with the upload path's
// converter (sox resampling), after repairing the engine's streaming header.
func (s *Synthesizer) synthesize(ctx context.Context, v Voice, norm string) ([]byte, error) {
	e, ok := s.engines[v.Engine]
	if !ok {
		return nil, fmt.Errorf("%w: no engine %q for voice %s", ErrEngineMissing, v.Engine, v.Name)
	}
	wav, err := e.Synthesize(ctx, norm, v)
	if err != nil {
		return nil, fmt.Errorf("voice %s: %w", v.Name, err)
	}
	pcm, src, err := audio.Convert(bytes.NewReader(fixStreamingHeader(wav)), maxWAVBytes)
	if errors.Is(err, audio.ErrBadAudio) {
		return nil, fmt.Errorf("%w: %s wrote unusable audio for voice %s: %v", ErrEngineFailed, e.Name(), v.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("voice %s: convert speech: %w", v.Name, err)
	}
	if src.SampleRate != v.SampleRate {
		return nil, fmt.Errorf("%w: voice %s (%s) declares sample_rate %d but %s wrote %d Hz; fix the file",
			ErrEngineFailed, v.Name, v.File, v.SampleRate, e.Name(), src.SampleRate)
	}
	return pcm, nil
}

// cacheKey hashes what determines the audio: engine and voice settings (not the voice's name,
// so a renamed file keeps its cache) and the normalized text (so a Normalize change that
// alters what is said is a new entry).
func cacheKey(v Voice, norm string) string {
	h := sha256.New()
	fmt.Fprintf(h, "dalaba-tts-1\x00%s\x00%s\x00%d\x00%d\x00%d\x00%d\x00", v.Engine, v.Voice, v.Speed, v.Pitch, v.Volume, v.SampleRate)
	h.Write([]byte(norm))
	return hex.EncodeToString(h.Sum(nil))
}
