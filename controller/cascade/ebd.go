package cascade

import (
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
)

// EBD is the envelope every message between platforms travels in (GD/J 082, GY/T 385).
// Exactly one body matches its EBDType.
type EBD struct {
	XMLName  xml.Name          `xml:"EBD"`
	Version  string            `xml:"EBDVersion,attr"`
	Header   Header            `xml:"EBDHeader"`
	EBM      *EBM              `xml:"EBM,omitempty"`
	Response *EBDResponse      `xml:"EBDResponse,omitempty"`
	State    *EBMStateResponse `xml:"EBMStateResponse,omitempty"`
	StateReq *EBMStateRequest  `xml:"EBMStateRequest,omitempty"`
	Check    *ConnectionCheck  `xml:"ConnectionCheck,omitempty"`
	Terms    *EBRDTState       `xml:"EBRDTState,omitempty"`
	Unknown  []unknown         `xml:",any"`
}

// Header names the envelope, its type, who sent it to whom, and when.
type Header struct {
	EBDID      string    `xml:"EBDID"`
	EBDType    string    `xml:"EBDType"`
	SRC        string    `xml:"SRC>EBRID"`
	DEST       string    `xml:"DEST>EBRID,omitempty"`
	EBDTime    string    `xml:"EBDTime"`
	RelatedEBD *EBDRef   `xml:"RelatedEBD,omitempty"`
	Unknown    []unknown `xml:",any"`
}

// EBDRef names an envelope this one answers or follows.
type EBDRef struct {
	EBDID string `xml:"EBDID"`
}

// EBMRef names a message (the one a cancel stops).
type EBMRef struct {
	EBMID string `xml:"EBMID"`
}

// RelatedEBDID is the envelope this one relates to, if any.
func (h Header) RelatedEBDID() string {
	if h.RelatedEBD == nil {
		return ""
	}
	return h.RelatedEBD.EBDID
}

// EBM is the emergency broadcast message.
type EBM struct {
	Version     string      `xml:"EBMVersion"`
	EBMID       string      `xml:"EBMID"`
	RelatedInfo *EBMRef     `xml:"RelatedInfo,omitempty"` // what a cancel stops
	Basic       BasicInfo   `xml:"MsgBasicInfo"`
	Content     *MsgContent `xml:"MsgContent,omitempty"`
	Unknown     []unknown   `xml:",any"`
}

// BasicInfo is MsgBasicInfo; numbers are kept as text so a bad one is named, not guessed.
type BasicInfo struct {
	MsgType    string    `xml:"MsgType"`
	SenderName string    `xml:"SenderName"`
	SenderCode string    `xml:"SenderCode"`
	SendTime   string    `xml:"SendTime"`
	EventType  string    `xml:"EventType"`
	Severity   string    `xml:"Severity"`
	StartTime  string    `xml:"StartTime"`
	EndTime    string    `xml:"EndTime"`
	Unknown    []unknown `xml:",any"`
}

// MsgContent is what is said and where.
type MsgContent struct {
	LanguageCode string      `xml:"LanguageCode"`
	MsgTitle     string      `xml:"MsgTitle"`
	MsgDesc      string      `xml:"MsgDesc"`
	AreaCode     string      `xml:"AreaCode"` // comma-separated
	Auxiliary    []Auxiliary `xml:"Auxiliary"`
	Unknown      []unknown   `xml:",any"`
}

// Auxiliary is an attached file: type 2 is audio.
type Auxiliary struct {
	Type    string    `xml:"AuxiliaryType"`
	Name    string    `xml:"AuxiliaryDesc"`
	Size    string    `xml:"Size"`
	Digest  string    `xml:"Digest"` // SM3, hex
	Unknown []unknown `xml:",any"`
}

// AuxAudio is the AuxiliaryType of an audio file.
const AuxAudio = "2"

// EBDResponse answers a received EBD.
type EBDResponse struct {
	ResultCode ResultCode `xml:"ResultCode"`
	ResultDesc string     `xml:"ResultDesc"`
	Unknown    []unknown  `xml:",any"`
}

// EBMStateRequest asks for a message's state; the answer is an EBMStateResponse.
type EBMStateRequest struct {
	EBMID   string    `xml:"EBMID"`
	Unknown []unknown `xml:",any"`
}

// EBMStateResponse reports a message's broadcast state and coverage, per area code.
type EBMStateResponse struct {
	RptTime      string     `xml:"RptTime"`
	EBMID        string     `xml:"EBMID"`
	BrdStateCode BrdState   `xml:"BrdStateCode"`
	BrdStateDesc string     `xml:"BrdStateDesc"`
	Coverage     []Coverage `xml:"Coverage"`
	Unknown      []unknown  `xml:",any"`
}

// Coverage is one area's share of terminals that played the message. The counts (an
// extension of this implementation) let an upper platform add areas up exactly.
type Coverage struct {
	AreaCode     string    `xml:"AreaCode"`
	CoverageRate string    `xml:"CoverageRate"` // percent, one decimal
	ResTotal     int       `xml:"ResTotal"`
	ResPlayed    int       `xml:"ResPlayed"`
	Unknown      []unknown `xml:",any"`
}

// ConnectionCheck is the heartbeat.
type ConnectionCheck struct {
	RptTime string    `xml:"RptTime"`
	Unknown []unknown `xml:",any"`
}

// EBRDTState reports terminal states.
type EBRDTState struct {
	RptTime   string     `xml:"RptTime"`
	Terminals []Terminal `xml:"EBRDT"`
	Unknown   []unknown  `xml:",any"`
}

// Terminal is one terminal's resource state.
type Terminal struct {
	EBRID     string    `xml:"EBRDTID"`
	StateCode ResState  `xml:"StateCode"`
	StateDesc string    `xml:"StateDesc"`
	Unknown   []unknown `xml:",any"`
}

var (
	reEBDID = regexp.MustCompile(`^[0-9]{36}$`)
	reEBRID = regexp.MustCompile(`^[0-9]{18}$`)
	reEBMID = regexp.MustCompile(`^[0-9]{30}$`)
)

// ParseEBD reads an envelope strictly: the shape, the header and that the body matches the
// type. The EBM's own fields are checked by Alert.
func ParseEBD(b []byte) (*EBD, error) {
	var e EBD
	if err := decodeStrict(b, "EBD", &e); err != nil {
		return nil, &ParseError{Code: ResultParse, Err: fmt.Errorf("EBD: %w", err)}
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return &e, nil
}

// ParseError is a message refused with its result code.
type ParseError struct {
	Code ResultCode
	Err  error
}

func (e *ParseError) Error() string { return e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

func missing(format string, a ...any) error {
	return &ParseError{Code: ResultMissing, Err: fmt.Errorf(format, a...)}
}

func (e *EBD) check() error {
	for _, u := range []struct {
		where string
		u     []unknown
	}{{"EBD", e.Unknown}, {"EBDHeader", e.Header.Unknown}} {
		if err := refuseUnknown(u.where, u.u); err != nil {
			return &ParseError{Code: ResultParse, Err: err}
		}
	}
	h := e.Header
	switch {
	case e.Version == "":
		return missing("EBD: EBDVersion attribute missing")
	case !reEBDID.MatchString(h.EBDID):
		return missing("EBDHeader/EBDID %q: want 36 digits", h.EBDID)
	case !reEBRID.MatchString(h.SRC):
		return missing("EBDHeader/SRC/EBRID %q: want 18 digits", h.SRC)
	case h.DEST != "" && !reEBRID.MatchString(h.DEST):
		return missing("EBDHeader/DEST/EBRID %q: want 18 digits", h.DEST)
	case h.RelatedEBD != nil && !reEBDID.MatchString(h.RelatedEBD.EBDID):
		return missing("EBDHeader/RelatedEBD/EBDID %q: want 36 digits", h.RelatedEBD.EBDID)
	}
	if _, err := parseTime(h.EBDTime); err != nil {
		return missing("EBDHeader/EBDTime %q: want YYYY-MM-DD hh:mm:ss", h.EBDTime)
	}
	bodies := map[string]bool{TypeEBM: e.EBM != nil, TypeResponse: e.Response != nil, TypeState: e.State != nil, TypeStateReq: e.StateReq != nil,
		TypeCheck: e.Check != nil, TypeTerminalRept: e.Terms != nil}
	has, known := bodies[h.EBDType]
	if !known {
		return &ParseError{Code: ResultParse, Err: fmt.Errorf("EBDHeader/EBDType %q: not a type this platform reads", h.EBDType)}
	}
	if !has {
		return missing("EBD of type %s has no <%s> body", h.EBDType, h.EBDType)
	}
	n := 0
	for _, ok := range bodies {
		if ok {
			n++
		}
	}
	if n != 1 {
		return &ParseError{Code: ResultParse, Err: errors.New("EBD: more than one body")}
	}
	return e.checkReports()
}

// checkReports checks the bodies that are reports (what downstream platforms send up).
func (e *EBD) checkReports() error {
	bad := func(err error) error { return &ParseError{Code: ResultParse, Err: err} }
	switch {
	case e.Response != nil:
		if err := refuseUnknown("EBDResponse", e.Response.Unknown); err != nil {
			return bad(err)
		}
		if e.Response.ResultCode < ResultOK || e.Response.ResultCode > ResultOther {
			return missing("EBDResponse/ResultCode %d: want 1 to 5", e.Response.ResultCode)
		}
	case e.State != nil:
		if err := refuseUnknown("EBMStateResponse", e.State.Unknown); err != nil {
			return bad(err)
		}
		if !reEBMID.MatchString(e.State.EBMID) {
			return missing("EBMStateResponse/EBMID %q: want 30 digits", e.State.EBMID)
		}
		if e.State.BrdStateCode < BrdUnprocessed || e.State.BrdStateCode > BrdCancelled {
			return missing("EBMStateResponse/BrdStateCode %d: want 0 to 5", e.State.BrdStateCode)
		}
		for _, c := range e.State.Coverage {
			if err := refuseUnknown("Coverage", c.Unknown); err != nil {
				return bad(err)
			}
			if _, err := parseArea(c.AreaCode); err != nil {
				return missing("Coverage/AreaCode: %v", err)
			}
			if c.ResTotal < 0 || c.ResPlayed < 0 || c.ResPlayed > c.ResTotal {
				return missing("Coverage of %s: %d played of %d", c.AreaCode, c.ResPlayed, c.ResTotal)
			}
		}
	case e.StateReq != nil:
		if err := refuseUnknown("EBMStateRequest", e.StateReq.Unknown); err != nil {
			return bad(err)
		}
		if !reEBMID.MatchString(e.StateReq.EBMID) {
			return missing("EBMStateRequest/EBMID %q: want 30 digits", e.StateReq.EBMID)
		}
	case e.Check != nil:
		if err := refuseUnknown("ConnectionCheck", e.Check.Unknown); err != nil {
			return bad(err)
		}
	case e.Terms != nil:
		if err := refuseUnknown("EBRDTState", e.Terms.Unknown); err != nil {
			return bad(err)
		}
		for _, t := range e.Terms.Terminals {
			if err := refuseUnknown("EBRDT", t.Unknown); err != nil {
				return bad(err)
			}
			if t.StateCode < ResOn || t.StateCode > ResBroadcasting {
				return missing("EBRDT %s StateCode %d: want 1 to 5", t.EBRID, t.StateCode)
			}
		}
	}
	return nil
}

// Encode writes the envelope as XML.
func (e *EBD) Encode() ([]byte, error) {
	if e.Version == "" {
		e.Version = "1.0"
	}
	return encodeXML(e)
}
