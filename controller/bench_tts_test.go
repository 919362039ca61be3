package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"
	"unicode/utf8"

	"dalaba/controller/tts"
	"dalaba/proto/wire"
)

// ttsNotice is a realistic 政务公开 notice of about 300 characters: dates, a time, amounts,
// a percentage, a landline and a mobile number, the classes the text front end rewrites.
const ttsNotice = `各位村民：根据县农业农村局《关于做好2026年耕地地力保护补贴发放工作的通知》要求，` +
	`我镇2026年度耕地地力保护补贴将于2026年11月22日起统一发放。补贴标准为每亩125.5元，` +
	`全镇共核定补贴面积3.2万亩，补贴资金约401.6万元，直接打入农户社保卡账户。` +
	`请各户于11月30日17:30前携带身份证、户口簿到村委会核对承包面积和银行账号。` +
	`未能到账的，请在12月15日前到镇财政所办理。种粮50亩以上的大户另有每亩20元奖励，` +
	`比去年提高12.5%。如有疑问，请拨打镇农业综合服务中心电话0793-5800580，` +
	`或联系包村干部13812345678。特此通知。曹溪镇人民政府，2026年11月20日。`

// BenchmarkTTS300 synthesizes the notice with the default voice, cache disabled, so every
// round runs the whole path: validate, normalize, espeak-ng, header repair, sox resampling to
// 16 kHz. The figure is the real-time factor: seconds of audio per second of work.
func BenchmarkTTS300(b *testing.B) {
	if b.N == 1 {
		return // the testing package's probe run; make bench asks for -benchtime 20x
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	voicesDir := filepath.Join("..", "tts-voices")
	s, err := tts.New(voicesDir, "", quiet) // "" disables the cache
	if err != nil {
		b.Fatal(err)
	}
	voices, err := tts.LoadVoices(voicesDir)
	if err != nil {
		b.Fatal(err)
	}
	voice, engine, ctx := voices[s.DefaultVoice()], tts.NewEspeak(), context.Background()

	var rtf []float64
	var total, engineOnly, normalize []time.Duration
	var audioDur time.Duration
	b.ResetTimer()
	// Round -1 warms up what a running controller has warm anyway (espeak-ng's data and sox
	// in the page cache); it is not counted.
	for i := -1; i < b.N; i++ {
		start := time.Now()
		pcm, err := s.Speak(ctx, ttsNotice, "")
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		audioDur = time.Duration(len(pcm)) * time.Second / wire.BytesPerSecond
		// The parts, timed apart: the text front end, and espeak-ng on its own.
		start = time.Now()
		text := tts.Normalize(ttsNotice)
		norm := time.Since(start)
		start = time.Now()
		if _, err := engine.Synthesize(ctx, text, voice); err != nil {
			b.Fatal(err)
		}
		eng := time.Since(start)
		if i >= 0 {
			rtf = append(rtf, audioDur.Seconds()/took.Seconds())
			total, engineOnly, normalize = append(total, took), append(engineOnly, eng), append(normalize, norm)
		}
	}
	b.StopTimer()
	med := ttsMedian(rtf)
	b.ReportMetric(med, "x-realtime")
	b.ReportMetric(audioDur.Seconds(), "s-audio")
	writeBenchReport(b, "tts-300", fmt.Sprintf(`Speech synthesis of a %d-character 政务公开 subsidy notice (dates, a time, amounts, a
percentage, a landline and a mobile number) with the default voice, %s
(espeak-ng %s, %d wpm); %d rounds after one uncounted warm-up, cache disabled: each round is
a full `+"`Speak`"+` (validate, normalize, espeak-ng, WAV header repair, sox resampling 22050 ->
16000 Hz).

| figure | median | min | max |
|---|---|---|---|
| **real-time factor** (audio seconds / wall seconds; target >= 50x) | **%.0fx** | %.0fx | %.0fx |
| audio produced | %.1f s | | |
| `+"`Speak`"+` wall time | %s | %s | %s |
| of which espeak-ng alone (timed separately) | %s | %s | %s |
| of which Normalize alone (timed separately) | %s | %s | %s |
`, utf8.RuneCountInString(ttsNotice), voice.Name, voice.Voice, voice.Speed, len(rtf),
		med, slices.Min(rtf), slices.Max(rtf), audioDur.Seconds(),
		ttsMs(ttsMedianD(total)), ttsMs(slices.Min(total)), ttsMs(slices.Max(total)),
		ttsMs(ttsMedianD(engineOnly)), ttsMs(slices.Min(engineOnly)), ttsMs(slices.Max(engineOnly)),
		ttsMs(ttsMedianD(normalize)), ttsMs(slices.Min(normalize)), ttsMs(slices.Max(normalize))))
}

func ttsMedian(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func ttsMedianD(d []time.Duration) time.Duration {
	v := make([]float64, len(d))
	for i, x := range d {
		v[i] = float64(x)
	}
	return time.Duration(ttsMedian(v))
}

func ttsMs(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
