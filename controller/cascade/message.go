package cascade

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// Message is an emergency message as an upper platform writes it: for tools (cascade-send)
// and tests that play the upper platform.
type Message struct {
	Platform   string // sender's 18-digit EBRID: SRC, SenderCode and the EBMID's prefix
	SenderName string
	Seq        int // the EBMID's 4-digit sequence of the day
	Type       MsgType
	Severity   int
	EventType  string // 11B01 when empty
	Areas      []string
	Title      string
	Desc       string
	Audio      []byte // WAV; nil: spoken from Desc
	AudioName  string // alert.wav when empty
	Start, End time.Time
	Cancels    string // a cancel's EBMID
}

// EBMID is the message's id: platform, today's date, sequence.
func (m Message) EBMID(day time.Time) string {
	return m.Platform + day.In(cst).Format("20060102") + fmt.Sprintf("%04d", m.Seq)
}

// Envelope is the message in an EBD with the given envelope id, and its attached files.
func (m Message) Envelope(ebdID string, now time.Time) (*EBD, map[string][]byte) {
	if m.Type == 0 {
		m.Type = MsgBroadcast
	}
	e := &EBD{Header: Header{EBDID: ebdID, EBDType: TypeEBM, SRC: m.Platform, EBDTime: FormatTime(now)},
		EBM: &EBM{Version: "1", EBMID: m.EBMID(now), Basic: BasicInfo{MsgType: strconv.Itoa(int(m.Type)),
			SenderName: m.SenderName, SenderCode: m.Platform, SendTime: FormatTime(now)}}}
	if m.Type == MsgCancel {
		e.EBM.RelatedInfo = &EBMRef{EBMID: m.Cancels}
		return e, nil
	}
	if m.EventType == "" {
		m.EventType = "11B01"
	}
	e.EBM.Basic.EventType, e.EBM.Basic.Severity = m.EventType, strconv.Itoa(m.Severity)
	e.EBM.Basic.StartTime, e.EBM.Basic.EndTime = FormatTime(m.Start), FormatTime(m.End)
	e.EBM.Content = &MsgContent{LanguageCode: "zho", MsgTitle: m.Title, MsgDesc: m.Desc, AreaCode: strings.Join(m.Areas, ",")}
	if m.Audio == nil {
		return e, nil
	}
	if m.AudioName == "" {
		m.AudioName = "alert.wav"
	}
	d := sm3.Sum(m.Audio)
	e.EBM.Content.Auxiliary = []Auxiliary{{Type: AuxAudio, Name: m.AudioName, Size: strconv.Itoa(len(m.Audio)), Digest: hex.EncodeToString(d[:])}}
	return e, map[string][]byte{m.AudioName: m.Audio}
}

// NewEBDID is an envelope id from platform with a 16-digit sequence.
func NewEBDID(platform string, seq int64) string {
	return "01" + platform + fmt.Sprintf("%016d", seq%1e16)
}

// Pack encodes and signs an envelope into a package with its files.
func (s *Signer) Pack(e *EBD, files map[string][]byte, now time.Time) (*Package, error) {
	msg, err := e.Encode()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", e.Header.EBDType, err)
	}
	sig, err := s.Sign(msg, e.Header.EBDID, now)
	if err != nil {
		return nil, err
	}
	return &Package{Name: EBDFileName(e.Header.EBDID), Message: msg, Signature: sig, Files: files}, nil
}
