package cascade

import (
	"time"

	"dalaba/proto/priority"
)

// Alert is one emergency message from above, whichever format it came in (EBM or CAP): what
// the rest of the cascade works with.
type Alert struct {
	Format     string // "ebd" or "cap"
	ID         string // EBMID, or CAP "sender,identifier": the message, across envelopes
	EnvelopeID string // EBDID, or the CAP key again: refused when seen a second time
	Issuer     string // name of the trusted certificate that signed it
	SenderName string
	SenderCode string

	Type      MsgType // as received (CAP: broadcast, or drill for Exercise)
	Cancel    bool
	CancelsID string // the message a cancel stops
	Drill     bool
	Severity  priority.Severity
	EventType string
	Start     time.Time
	End       time.Time

	Language    string
	Title       string
	Description string
	Areas       []string // 12-digit region codes (15-digit group codes accepted)
	Audio       []Attachment
}

// Attachment is an audio file the message names, with its digest; Data is filled in from the
// package once the digest matched.
type Attachment struct {
	Name   string
	Size   int64
	Digest string // hex: SM3 for EBM, SHA-1 or SHA-256 for CAP
	Data   []byte
}

// cst is China Standard Time, the zone of the standard's "YYYY-MM-DD hh:mm:ss" times. A
// fixed zone: the controller must read them right without a time zone database.
var cst = time.FixedZone("CST", 8*3600)

const ebdTimeLayout = "2006-01-02 15:04:05"

// FormatTime writes t the way EBD fields carry times.
func FormatTime(t time.Time) string { return t.In(cst).Format(ebdTimeLayout) }

func parseTime(s string) (time.Time, error) { return time.ParseInLocation(ebdTimeLayout, s, cst) }
