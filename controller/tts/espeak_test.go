package tts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testVoice = Voice{Name: "t", Engine: "espeak", Voice: "cmn-latn-pinyin", Speed: 175, Pitch: 50, Volume: 80, SampleRate: 22050}

func TestEspeakMissing(t *testing.T) {
	e := &Espeak{Path: filepath.Join(t.TempDir(), "no-such-espeak-ng")}
	_, err := e.Synthesize(context.Background(), "你好", testVoice)
	if !errors.Is(err, ErrEngineMissing) || !strings.Contains(err.Error(), "no-such-espeak-ng") {
		t.Fatalf("got %v, want ErrEngineMissing naming the binary", err)
	}
}

// script writes an executable shell script standing in for a broken espeak-ng.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "espeak-ng")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEspeakFailing(t *testing.T) {
	for _, c := range []struct{ name, path, says string }{
		{"exit-1", "/bin/false", "exit status 1"},
		{"stderr", script(t, `echo "Error: voice table damaged" >&2; exit 2`), "Error: voice table damaged"},
		{"no-output", "/bin/true", "wrote no audio"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := (&Espeak{Path: c.path}).Synthesize(context.Background(), "你好", testVoice)
			if !errors.Is(err, ErrEngineFailed) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want ErrEngineFailed saying %q", err, c.says)
			}
		})
	}
}

func TestEspeakCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := (&Espeak{Path: script(t, "sleep 10")}).Synthesize(ctx, "你好", testVoice)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
}

// TestEspeakCmnStillBroken pins the upstream fault the voice guard exists for. If it fails,
// espeak-ng's cmn voice reads 政务公开 properly now and the guard may be relaxed.
func TestEspeakCmnStillBroken(t *testing.T) {
	e := NewEspeak()
	for _, voice := range []string{"cmn", "zh"} {
		v := testVoice
		v.Voice = voice
		if err := e.CheckVoice(context.Background(), v); !errors.Is(err, ErrBuggyVoice) {
			t.Errorf("CheckVoice(%s) = %v, want ErrBuggyVoice", voice, err)
		}
	}
	if err := e.CheckVoice(context.Background(), testVoice); err != nil {
		t.Errorf("CheckVoice(cmn-latn-pinyin) = %v", err)
	}
}
