package cascade

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"dalaba/proto/priority"
)

// CAPNamespace is the OASIS CAP 1.2 namespace every alert must declare.
const CAPNamespace = "urn:oasis:names:tc:emergency:cap:1.2"

// CAPAlert is an OASIS CAP 1.2 alert, the parts a loudspeaker network uses.
type CAPAlert struct {
	XMLName    xml.Name  `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier string    `xml:"identifier"`
	Sender     string    `xml:"sender"`
	Sent       string    `xml:"sent"`
	Status     string    `xml:"status"`  // Actual, Exercise, System, Test, Draft
	MsgType    string    `xml:"msgType"` // Alert, Update, Cancel, Ack, Error
	Source     string    `xml:"source,omitempty"`
	Scope      string    `xml:"scope"`
	Restrict   string    `xml:"restriction,omitempty"`
	Addresses  string    `xml:"addresses,omitempty"`
	Code       []string  `xml:"code"`
	Note       string    `xml:"note,omitempty"`
	References string    `xml:"references,omitempty"`
	Incidents  string    `xml:"incidents,omitempty"`
	Info       []CAPInfo `xml:"info"`
	Unknown    []unknown `xml:",any"`
}

// CAPInfo is one info block.
type CAPInfo struct {
	Language    string        `xml:"language,omitempty"`
	Category    []string      `xml:"category"`
	Event       string        `xml:"event"`
	Response    []string      `xml:"responseType"`
	Urgency     string        `xml:"urgency"`
	Severity    string        `xml:"severity"`
	Certainty   string        `xml:"certainty"`
	Audience    string        `xml:"audience,omitempty"`
	EventCode   []CAPGeocode  `xml:"eventCode"`
	Effective   string        `xml:"effective,omitempty"`
	Onset       string        `xml:"onset,omitempty"`
	Expires     string        `xml:"expires,omitempty"`
	SenderName  string        `xml:"senderName,omitempty"`
	Headline    string        `xml:"headline,omitempty"`
	Description string        `xml:"description,omitempty"`
	Instruction string        `xml:"instruction,omitempty"`
	Web         string        `xml:"web,omitempty"`
	Contact     string        `xml:"contact,omitempty"`
	Parameter   []CAPGeocode  `xml:"parameter"`
	Resource    []CAPResource `xml:"resource"`
	Area        []CAPArea     `xml:"area"`
	Unknown     []unknown     `xml:",any"`
}

// CAPResource is an attached file; audio comes inline (derefUri) or as a file in the package
// named by uri.
type CAPResource struct {
	Desc     string    `xml:"resourceDesc"`
	MimeType string    `xml:"mimeType"`
	Size     string    `xml:"size,omitempty"`
	URI      string    `xml:"uri,omitempty"`
	DerefURI string    `xml:"derefUri,omitempty"`
	Digest   string    `xml:"digest,omitempty"` // SHA-1 (CAP 1.2) or SHA-256, hex
	Unknown  []unknown `xml:",any"`
}

// CAPArea is where; geocodes carry the region codes.
type CAPArea struct {
	Desc     string       `xml:"areaDesc"`
	Polygon  []string     `xml:"polygon"`
	Circle   []string     `xml:"circle"`
	Geocode  []CAPGeocode `xml:"geocode"`
	Altitude string       `xml:"altitude,omitempty"`
	Ceiling  string       `xml:"ceiling,omitempty"`
	Unknown  []unknown    `xml:",any"`
}

// CAPGeocode is a named value (geocode, eventCode, parameter).
type CAPGeocode struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

// ParseCAP reads a CAP 1.2 alert strictly.
func ParseCAP(b []byte) (*CAPAlert, error) {
	var c CAPAlert
	if err := decodeStrict(b, "alert", &c); err != nil {
		return nil, &ParseError{Code: ResultParse, Err: fmt.Errorf("CAP: %w", err)}
	}
	if err := refuseUnknown("alert", c.Unknown); err != nil {
		return nil, &ParseError{Code: ResultParse, Err: err}
	}
	for _, in := range c.Info {
		if err := refuseUnknown("info", in.Unknown); err != nil {
			return nil, &ParseError{Code: ResultParse, Err: err}
		}
		for _, r := range in.Resource {
			if err := refuseUnknown("resource", r.Unknown); err != nil {
				return nil, &ParseError{Code: ResultParse, Err: err}
			}
		}
		for _, a := range in.Area {
			if err := refuseUnknown("area", a.Unknown); err != nil {
				return nil, &ParseError{Code: ResultParse, Err: err}
			}
		}
	}
	return &c, nil
}

// capSeverity maps CAP severities onto the GD/J 082 grades.
var capSeverity = map[string]priority.Severity{"Extreme": priority.Red, "Severe": priority.Orange,
	"Moderate": priority.Yellow, "Minor": priority.Blue, "Unknown": priority.Unknown}

var (
	capUrgency   = map[string]bool{"Immediate": true, "Expected": true, "Future": true, "Past": true, "Unknown": true}
	capCertainty = map[string]bool{"Observed": true, "Likely": true, "Possible": true, "Unlikely": true, "Unknown": true}
)

// CAPKey names a CAP alert across messages: sender and identifier.
func CAPKey(sender, identifier string) string { return sender + "," + identifier }

// Alert turns the CAP alert into the internal model. Status Actual plays, Exercise is a drill;
// System, Test and Draft, and msgType Ack and Error, are not for loudspeakers and refused.
func (c *CAPAlert) Alert() (*Alert, error) {
	id, sender := strings.TrimSpace(c.Identifier), strings.TrimSpace(c.Sender)
	switch {
	case id == "" || strings.ContainsAny(id, " ,<&"):
		return nil, missing("CAP identifier %q: want a non-empty identifier without spaces or commas", c.Identifier)
	case sender == "" || strings.ContainsAny(sender, " ,<&"):
		return nil, missing("CAP sender %q: want a non-empty sender without spaces or commas", c.Sender)
	}
	if _, err := time.Parse(time.RFC3339, c.Sent); err != nil {
		return nil, missing("CAP sent %q: want a date-time like 2026-07-01T18:00:00+08:00", c.Sent)
	}
	a := &Alert{Format: "cap", ID: CAPKey(sender, id), EnvelopeID: CAPKey(sender, id), SenderCode: sender, Type: MsgBroadcast}
	switch c.Status {
	case "Actual":
	case "Exercise":
		a.Drill, a.Type = true, MsgDrillTerminal
	case "System", "Test", "Draft":
		return nil, &ParseError{Code: ResultOther, Err: fmt.Errorf("CAP status %s is not for broadcast", c.Status)}
	default:
		return nil, missing("CAP status %q: want Actual, Exercise, System, Test or Draft", c.Status)
	}
	switch c.MsgType {
	case "Alert", "Update":
	case "Cancel":
		refs := strings.Fields(c.References)
		if len(refs) == 0 {
			return nil, missing("CAP Cancel has no references")
		}
		p := strings.Split(refs[0], ",")
		if len(p) != 3 {
			return nil, missing("CAP references %q: want sender,identifier,sent", refs[0])
		}
		a.Cancel, a.CancelsID = true, CAPKey(p[0], p[1])
		return a, nil
	case "Ack", "Error":
		return nil, &ParseError{Code: ResultOther, Err: fmt.Errorf("CAP msgType %s is not for broadcast", c.MsgType)}
	default:
		return nil, missing("CAP msgType %q: want Alert, Update, Cancel, Ack or Error", c.MsgType)
	}
	if len(c.Info) == 0 {
		return nil, missing("CAP alert has no info")
	}
	return a, a.fromInfo(c.Info[0], c.Sent)
}

func (a *Alert) fromInfo(in CAPInfo, sent string) error {
	sev, ok := capSeverity[in.Severity]
	if !ok {
		return missing("CAP severity %q: want Extreme, Severe, Moderate, Minor or Unknown", in.Severity)
	}
	if !capUrgency[in.Urgency] {
		return missing("CAP urgency %q: want Immediate, Expected, Future, Past or Unknown", in.Urgency)
	}
	if !capCertainty[in.Certainty] {
		return missing("CAP certainty %q: want Observed, Likely, Possible, Unlikely or Unknown", in.Certainty)
	}
	a.Severity, a.EventType, a.Language, a.SenderName = sev, strings.TrimSpace(in.Event), in.Language, strings.TrimSpace(in.SenderName)
	if a.EventType == "" {
		return missing("CAP event is empty")
	}
	a.Title = strings.TrimSpace(in.Headline)
	if a.Title == "" {
		a.Title = a.EventType
	}
	a.Description = strings.TrimSpace(strings.TrimSpace(in.Description) + "\n" + strings.TrimSpace(in.Instruction))
	if err := a.checkText(); err != nil {
		return err
	}
	var err error
	start := sent
	if in.Effective != "" {
		start = in.Effective
	}
	if a.Start, err = time.Parse(time.RFC3339, start); err != nil {
		return missing("CAP effective %q: want a date-time", in.Effective)
	}
	if in.Expires == "" {
		return missing("CAP expires is missing: a loudspeaker alert must end")
	}
	if a.End, err = time.Parse(time.RFC3339, in.Expires); err != nil || !a.End.After(a.Start) {
		return missing("CAP expires %q: want a date-time after the start", in.Expires)
	}
	var codes []string
	for _, ar := range in.Area {
		for _, g := range ar.Geocode {
			codes = append(codes, g.Value)
		}
	}
	if a.Areas, err = parseAreas(strings.Join(codes, ",")); err != nil {
		return missing("CAP area geocode: %v", err)
	}
	for i, r := range in.Resource {
		if !strings.HasPrefix(r.MimeType, "audio/") {
			continue
		}
		name := r.URI
		if k := strings.LastIndexAny(name, "/"); k >= 0 {
			name = name[k+1:]
		}
		if name == "" {
			name = fmt.Sprintf("resource-%d", i+1)
		}
		var data []byte
		if r.DerefURI != "" {
			var err error
			if data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(r.DerefURI), "")); err != nil {
				return missing("CAP resource %d derefUri: not base64", i+1)
			}
		}
		size := r.Size
		if size == "" && data != nil {
			size = fmt.Sprint(len(data)) // size is optional in CAP
		}
		at, err := attachment(name, size, r.Digest, 0)
		if err != nil {
			return missing("CAP resource %d: %v", i+1, err)
		}
		at.Data = data
		a.Audio = append(a.Audio, at)
	}
	return nil
}

// Encode writes the alert as XML (answers and tests).
func (c *CAPAlert) Encode() ([]byte, error) { return encodeXML(c) }
