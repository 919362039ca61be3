package schedule

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // zones resolve the same on a machine without /usr/share/zoneinfo

	"dalaba/proto/wire"
)

// Defaults and limits.
const (
	DefaultGrace = 10 * time.Minute
	MinGrace     = time.Second
	MaxGrace     = 24 * time.Hour
	DefaultZone  = "Asia/Shanghai"

	SourceFile = "file"
	SourceAPI  = "api"
)

// Def is a schedule as a file or an API request states it: text, not yet checked.
type Def struct {
	ID           string  `yaml:"id" json:"id"`
	Name         string  `yaml:"name" json:"name"`
	Announcement string  `yaml:"announcement" json:"announcement"` // id or key
	To           Targets `yaml:"to" json:"to"`                     // optional targets override
	Cron         string  `yaml:"cron" json:"cron"`                 // recurring, or
	At           string  `yaml:"at" json:"at"`                     // one-off
	TimeZone     string  `yaml:"timezone" json:"timezone"`         // default: the controller's
	Grace        string  `yaml:"grace" json:"grace"`               // e.g. 10m
	Paused       bool    `yaml:"paused" json:"paused"`
}

// Schedule is a checked schedule as stored. Times are kept as unix ms and shown in Location.
type Schedule struct {
	ID, Name     string
	Announcement string
	Targets      []wire.Address
	Cron         string    // empty for a one-off
	At           time.Time // the one-off slot; zero for cron
	Location     *time.Location
	Grace        time.Duration
	Paused       bool
	Source       string // file or api
	File         string // for source file
	// Since is where the walk over slots begins when none is recorded: the creation, or the
	// last change of cron, at or zone (slots of an old timing are never due).
	Since, Created, Updated time.Time

	timing timing
}

// Next is the schedule's first slot strictly after t, in the schedule's zone; zero when there
// is none.
func (s *Schedule) Next(t time.Time) time.Time { return s.timing.next(t.In(s.Location)) }

// InputError is a schedule that cannot be accepted: Field names what is wrong, Message says it
// to staff in Chinese.
type InputError struct {
	Field, Message string
	Err            error
}

func (e *InputError) Error() string { return "schedule " + e.Field + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// reserved ids would collide with the API's own paths.
var reserved = map[string]bool{"week": true, "reload": true}

// check turns a Def into a Schedule. defZone is the zone when the Def names none; now decides
// whether a cron expression ever matches. Whether a one-off is still ahead is the caller's to
// decide: a known one-off already behind us is fine on reload.
func (d Def) check(defZone string, now time.Time) (Schedule, error) {
	bad := func(field, msg string, err error) (Schedule, error) {
		return Schedule{}, &InputError{Field: field, Message: msg, Err: err}
	}
	s := Schedule{ID: strings.TrimSpace(d.ID), Name: strings.TrimSpace(d.Name), Announcement: strings.TrimSpace(d.Announcement), Paused: d.Paused}
	if !idPattern.MatchString(s.ID) || reserved[s.ID] {
		return bad("id", "日程编号应为 1 到 40 位小写字母、数字、- 或 _", fmt.Errorf("bad id %q", d.ID))
	}
	if s.Name == "" || len([]rune(s.Name)) > 100 {
		return bad("name", "日程名称不能为空，且不超过 100 字", fmt.Errorf("bad name %q", d.Name))
	}
	if s.Announcement == "" || len(s.Announcement) > 200 || strings.ContainsAny(s.Announcement, " \t\n,") {
		return bad("announcement", "请填写要播放的公告编号或代号", fmt.Errorf("bad announcement %q", d.Announcement))
	}
	for _, to := range d.To {
		a, err := wire.ParseAddress(to)
		if err != nil {
			return bad("to", "目标地址格式错误，应为 town:/village:/group:/terminal: 加编码", err)
		}
		s.Targets = append(s.Targets, a)
	}
	zone := d.TimeZone
	if zone == "" {
		zone = defZone
	}
	loc, err := loadZone(zone)
	if err != nil {
		return bad("timezone", "时区无效，应为如 Asia/Shanghai 的时区名", err)
	}
	s.Location = loc
	s.Grace = DefaultGrace
	if d.Grace != "" {
		g, err := time.ParseDuration(d.Grace)
		if err != nil || g < MinGrace || g > MaxGrace {
			return bad("grace", "补播宽限时间应为 1s 到 24h 之间的时长，如 10m", fmt.Errorf("grace %q: want a duration from %v to %v", d.Grace, MinGrace, MaxGrace))
		}
		s.Grace = g
	}
	switch cronSet, atSet := strings.TrimSpace(d.Cron) != "", strings.TrimSpace(d.At) != ""; {
	case cronSet && atSet:
		return bad("cron", "cron 与 at 只能填一个：重复播放用 cron，单次播放用 at", fmt.Errorf("both cron %q and at %q given", d.Cron, d.At))
	case !cronSet && !atSet:
		return bad("cron", "请填写 cron（重复播放）或 at（单次播放）", fmt.Errorf("neither cron nor at given"))
	case cronSet:
		ct, err := parseCron(d.Cron, loc, now)
		if err != nil {
			return bad("cron", fmt.Sprintf("cron 表达式 %q 无效：应为 5 个字段（分 时 日 月 周），如 \"30 7 * * *\"，或 @daily 等", strings.TrimSpace(d.Cron)), err)
		}
		s.Cron, s.timing = strings.TrimSpace(d.Cron), ct
	default:
		at, err := parseAt(d.At, loc)
		if err != nil {
			return bad("at", "单次播放时间格式错误，应为 2006-01-02 15:04 或 RFC 3339", err)
		}
		s.At, s.timing = at, oneOff{at}
	}
	return s, nil
}

// sameTiming reports whether two schedules have the same slots.
func sameTiming(a, b Schedule) bool {
	return a.Cron == b.Cron && a.At.Equal(b.At) && a.Location.String() == b.Location.String()
}

// pastAt is the error for a one-off time that is not ahead of now.
func pastAt(s Schedule, now time.Time) error {
	return &InputError{Field: "at", Message: "单次播放时间已过，请填写将来的时间",
		Err: fmt.Errorf("at %s is not after now (%s)", s.At.Format(time.RFC3339), now.In(s.Location).Format(time.RFC3339))}
}
