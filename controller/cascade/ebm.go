package cascade

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"dalaba/proto/priority"
)

// Limits on what an upper platform may ask this town to say.
const (
	MaxTitleRunes = 200
	MaxDescRunes  = 2000
	MaxAttachment = 64 << 20
)

var reHex = regexp.MustCompile(`^[0-9a-fA-F]+$`)

// Alert turns a checked EBD of type EBM into the internal model, checking every field the
// standard requires: a message that is only partly understood is refused whole.
func (e *EBD) Alert() (*Alert, error) {
	m := e.EBM
	if m == nil {
		return nil, missing("EBD of type %s carries no EBM", e.Header.EBDType)
	}
	for _, u := range []struct {
		where string
		u     []unknown
	}{{"EBM", m.Unknown}, {"MsgBasicInfo", m.Basic.Unknown}} {
		if err := refuseUnknown(u.where, u.u); err != nil {
			return nil, &ParseError{Code: ResultParse, Err: err}
		}
	}
	b := m.Basic
	a := &Alert{Format: "ebd", ID: m.EBMID, EnvelopeID: e.Header.EBDID, SenderName: strings.TrimSpace(b.SenderName),
		SenderCode: b.SenderCode, EventType: strings.TrimSpace(b.EventType)}
	if !reEBMID.MatchString(m.EBMID) {
		return nil, missing("EBM/EBMID %q: want 30 digits", m.EBMID)
	}
	if a.SenderName == "" {
		return nil, missing("MsgBasicInfo/SenderName is empty")
	}
	if !reEBRID.MatchString(b.SenderCode) {
		return nil, missing("MsgBasicInfo/SenderCode %q: want 18 digits", b.SenderCode)
	}
	t, err := strconv.Atoi(b.MsgType)
	if err != nil || t < int(MsgBroadcast) || t > int(MsgDrillTerminal) {
		return nil, missing("MsgBasicInfo/MsgType %q: want 1 (broadcast), 2 (cancel) or 3-5 (drills)", b.MsgType)
	}
	a.Type = MsgType(t)
	if MsgType(t) == MsgCancel {
		if m.RelatedInfo == nil || !reEBMID.MatchString(m.RelatedInfo.EBMID) {
			return nil, missing("cancel EBM: RelatedInfo/EBMID: want the 30-digit EBMID it cancels")
		}
		a.Cancel, a.CancelsID = true, m.RelatedInfo.EBMID
		return a, nil
	}
	a.Drill = MsgType(t).Drill()
	sev, err := strconv.Atoi(b.Severity)
	if err != nil || !priority.Severity(sev).Valid() {
		return nil, missing("MsgBasicInfo/Severity %q: want 1 (red) to 4 (blue), or 0", b.Severity)
	}
	a.Severity = priority.Severity(sev)
	if a.EventType == "" {
		return nil, missing("MsgBasicInfo/EventType is empty")
	}
	if a.Start, err = parseTime(b.StartTime); err != nil {
		return nil, missing("MsgBasicInfo/StartTime %q: want YYYY-MM-DD hh:mm:ss", b.StartTime)
	}
	if a.End, err = parseTime(b.EndTime); err != nil {
		return nil, missing("MsgBasicInfo/EndTime %q: want YYYY-MM-DD hh:mm:ss", b.EndTime)
	}
	if !a.End.After(a.Start) {
		return nil, missing("MsgBasicInfo: EndTime %s is not after StartTime %s", b.EndTime, b.StartTime)
	}
	c := m.Content
	if c == nil {
		return nil, missing("EBM has no MsgContent")
	}
	if err := refuseUnknown("MsgContent", c.Unknown); err != nil {
		return nil, &ParseError{Code: ResultParse, Err: err}
	}
	a.Language, a.Title, a.Description = c.LanguageCode, strings.TrimSpace(c.MsgTitle), strings.TrimSpace(c.MsgDesc)
	if err := a.checkText(); err != nil {
		return nil, err
	}
	if a.Areas, err = parseAreas(c.AreaCode); err != nil {
		return nil, missing("MsgContent/AreaCode: %v", err)
	}
	for i, x := range c.Auxiliary {
		if err := refuseUnknown("Auxiliary", x.Unknown); err != nil {
			return nil, &ParseError{Code: ResultParse, Err: err}
		}
		if x.Type != AuxAudio {
			continue // pictures and documents are not for loudspeakers
		}
		at, err := attachment(x.Name, x.Size, x.Digest, 64)
		if err != nil {
			return nil, missing("Auxiliary %d: %v", i+1, err)
		}
		a.Audio = append(a.Audio, at)
	}
	return a, nil
}

// checkText: a title, and something to say (a description or audio, checked later).
func (a *Alert) checkText() error {
	switch {
	case a.Title == "":
		return missing("message title is empty")
	case utf8.RuneCountInString(a.Title) > MaxTitleRunes:
		return missing("message title has %d characters, limit %d", utf8.RuneCountInString(a.Title), MaxTitleRunes)
	case utf8.RuneCountInString(a.Description) > MaxDescRunes:
		return missing("message description has %d characters, limit %d", utf8.RuneCountInString(a.Description), MaxDescRunes)
	}
	return nil
}

// attachment checks an attached file's name, size and digest (hexLen hex digits, or 40/64
// for CAP when hexLen is 0).
func attachment(name, size, digest string, hexLen int) (Attachment, error) {
	at := Attachment{Name: strings.TrimSpace(name), Digest: strings.ToLower(strings.TrimSpace(digest))}
	if at.Name == "" || strings.ContainsAny(at.Name, `/\`) || at.Name == "." || at.Name == ".." {
		return at, fmt.Errorf("file name %q: want a plain file name", name)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(size), 10, 64)
	if err != nil || n <= 0 || n > MaxAttachment {
		return at, fmt.Errorf("%s: size %q: want 1 to %d bytes", at.Name, size, MaxAttachment)
	}
	at.Size = n
	okLen := len(at.Digest) == hexLen || (hexLen == 0 && (len(at.Digest) == 40 || len(at.Digest) == 64))
	if !okLen || !reHex.MatchString(at.Digest) {
		return at, fmt.Errorf("%s: digest %q: want %s in hex", at.Name, digest, map[bool]string{true: "SM3", false: "SHA-1 or SHA-256"}[hexLen == 64])
	}
	return at, nil
}
