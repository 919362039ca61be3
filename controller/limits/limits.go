// Package limits bounds what the outside may send the controller's HTTP API: requests per
// client (429 with Retry-After), login attempts per address (429), JSON and upload body sizes
// (413), and the length of an uploaded program (400). Every refusal says in Chinese what the
// limit is. Text lengths are checked where the text is understood (dispatch, review, tts,
// schedule); docs/RELIABILITY.md lists them all.
package limits

import (
	"fmt"
	"time"

	"dalaba/controller/dispatch"
)

// Defaults. The request rates are far above what staff at a console or ebctl send (the whole
// test suite and `make bench` stay under them) and far below what a flood needs.
const (
	DefaultRate       = 100.0 // API requests per second per client, sustained
	DefaultBurst      = 400   // API requests a client may send at once
	DefaultLoginRate  = 0.5   // login attempts per second per address: 30 a minute
	DefaultLoginBurst = 30
	DefaultJSONBytes  = 64 << 10 // a JSON body: the largest real one (2000 characters of text) is under 12 KiB
	// DefaultUploadBytes is a multipart body: the audio file and the form fields around it.
	DefaultUploadBytes = dispatch.MaxAudioBytes + 1<<20
	// MaxAudioBytes is the largest audio file accepted.
	MaxAudioBytes = dispatch.MaxAudioBytes
	// MaxProgramDuration is the longest uploaded program: a township announcement runs minutes,
	// and a longer one holds every horn (and every lower priority) for too long.
	MaxProgramDuration = 30 * time.Minute
)

// Config sets the limits; zero fields take the defaults.
type Config struct {
	// Rate is the requests per second one client may make, sustained, and Burst how many at
	// once. A client is a staff user (by the session of the Bearer token) or else an IP address
	// (an IPv6 /64). A negative Rate turns request limits off (login included).
	Rate  float64
	Burst int
	// LoginRate and LoginBurst bound POST /api/v1/login per address, on top of Rate: password
	// guessing across many accounts (the lockout stops it at one).
	LoginRate  float64
	LoginBurst int
	// MaxJSONBytes bounds every body that is not a multipart form; MaxUploadBytes a multipart
	// form (an audio upload and its fields).
	MaxJSONBytes   int64
	MaxUploadBytes int64
}

func (c Config) withDefaults() Config {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.LoginRate == 0 {
		c.LoginRate = DefaultLoginRate
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = DefaultLoginBurst
	}
	if c.MaxJSONBytes <= 0 {
		c.MaxJSONBytes = DefaultJSONBytes
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = DefaultUploadBytes
	}
	return c
}

// TooLargeError is a body or file over its size limit: 413.
type TooLargeError struct {
	What  string // what was too large, in Chinese: 请求内容, 上传内容, 音频文件
	Size  int64  // its size, or -1 when unknown (a body still arriving)
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%s over the limit of %d bytes", e.What, e.Limit)
	}
	return fmt.Sprintf("%s of %d bytes over the limit of %d bytes", e.What, e.Size, e.Limit)
}

// Chinese says it to staff, naming the limit.
func (e *TooLargeError) Chinese() string {
	return fmt.Sprintf("%s过大：不能超过 %s", e.What, Bytes(e.Limit))
}

// TooLongError is an uploaded program longer than MaxProgramDuration: 400.
type TooLongError struct {
	Duration, Limit time.Duration
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("audio lasts %v, over the limit of %v", e.Duration.Round(time.Second), e.Limit)
}

// Chinese says it to staff, naming the limit.
func (e *TooLongError) Chinese() string {
	return fmt.Sprintf("音频时长 %s 超过上限 %s，请剪短或分段播出", Clock(e.Duration), Clock(e.Limit))
}

// Bytes writes a size for staff: 64 MB, 64 KB, 900 字节.
func Bytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d 字节", n)
}

// Clock writes a duration for staff: 30 分钟, 31 分 5 秒, 1 小时 2 分.
func Clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	h, m, sec := s/3600, s%3600/60, s%60
	switch {
	case h > 0 && m == 0 && sec == 0:
		return fmt.Sprintf("%d 小时", h)
	case h > 0:
		return fmt.Sprintf("%d 小时 %d 分 %d 秒", h, m, sec)
	case sec == 0:
		return fmt.Sprintf("%d 分钟", m)
	case m > 0:
		return fmt.Sprintf("%d 分 %d 秒", m, sec)
	}
	return fmt.Sprintf("%d 秒", sec)
}
