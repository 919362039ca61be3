package cascade

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// below is a platform under this one and the message's area codes that concern it.
type below struct {
	platform Platform
	areas    []string
}

// downstreamFor lists the platforms below whose areas overlap the message's, each with the
// codes that concern it.
func (s *Service) downstreamFor(areas []string) []below {
	var out []below
	for _, p := range s.Config.Downstream {
		var mine []string
		for _, code := range areas {
			if overlapsAny(code, p.Areas) {
				mine = append(mine, code)
			}
		}
		if len(mine) > 0 {
			out = append(out, below{platform: p, areas: mine})
		}
	}
	return out
}

func (s *Service) coveredBelow(code string) bool {
	return slices.ContainsFunc(s.Config.Downstream, func(p Platform) bool { return overlapsAny(code, p.Areas) })
}

func overlapsAny(code string, list []string) bool {
	a, err := parseArea(code)
	if err != nil {
		return false
	}
	for _, c := range list {
		if b, err := parseArea(c); err == nil && a.Overlaps(b) {
			return true
		}
	}
	return false
}

// relay sends the message on to a platform below, in a new envelope signed by this platform,
// naming only the areas that concern it.
func (s *Service) relay(a *Alert, d below) {
	ebm := &EBM{Version: "1", EBMID: a.ID, Basic: BasicInfo{MsgType: strconv.Itoa(int(a.Type)), SenderName: a.SenderName,
		SenderCode: a.SenderCode, SendTime: FormatTime(time.Now()), EventType: a.EventType, Severity: strconv.Itoa(int(a.Severity)),
		StartTime: FormatTime(a.Start), EndTime: FormatTime(a.End)},
		Content: &MsgContent{LanguageCode: a.Language, MsgTitle: a.Title, MsgDesc: a.Description, AreaCode: strings.Join(d.areas, ",")}}
	files := map[string][]byte{}
	for _, at := range a.Audio {
		ebm.Content.Auxiliary = append(ebm.Content.Auxiliary, Auxiliary{Type: AuxAudio, Name: at.Name,
			Size: strconv.Itoa(len(at.Data)), Digest: sm3Hex(at.Data, 64)})
		files[at.Name] = at.Data
	}
	s.relayEBD(a.ID, d.platform, &EBD{Header: s.envelope(TypeEBM, d.platform.PlatformID, a.EnvelopeID), EBM: ebm}, files)
}

// relayCancel sends a cancel of a relayed message below.
func (s *Service) relayCancel(a *Alert, rec record, p Platform) {
	ebm := &EBM{Version: "1", EBMID: a.ID, RelatedInfo: &EBMRef{EBMID: rec.ID}, Basic: BasicInfo{MsgType: strconv.Itoa(int(MsgCancel)),
		SenderName: a.SenderName, SenderCode: a.SenderCode, SendTime: FormatTime(time.Now())}}
	s.relayEBD(rec.ID, p, &EBD{Header: s.envelope(TypeEBM, p.PlatformID, a.EnvelopeID), EBM: ebm}, nil)
}

func (s *Service) relayEBD(msgID string, p Platform, e *EBD, files map[string][]byte) {
	pkg, err := s.pack(e, files)
	if err == nil {
		var code ResultCode
		var desc string
		code, desc, err = s.post(p.URL, pkg, Downstream)
		if err == nil && code != ResultOK {
			err = fmt.Errorf("answered %d %s", code, desc)
		}
	}
	if err != nil {
		s.Log.Error("relay to platform below failed", "message", msgID, "platform", p.Name, "url", p.URL, "err", err)
		return
	}
	s.Log.Info("relayed to platform below", "message", msgID, "platform", p.Name, "ebd", e.Header.EBDID)
}

// post sends a package and reads the signed EBDResponse, which must come from a certificate
// trusted in role.
func (s *Service) post(url string, p *Package, role Role) (ResultCode, string, error) {
	b, err := p.Bytes()
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(s.ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	rp, err := ReadPackage(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("response: %w", err)
	}
	if _, err := s.trust.Verify(rp.Message, rp.Signature, role, time.Now()); err != nil {
		return 0, "", fmt.Errorf("response: %w", err)
	}
	e, err := ParseEBD(rp.Message)
	if err != nil {
		return 0, "", fmt.Errorf("response: %w", err)
	}
	if e.Response == nil {
		return 0, "", fmt.Errorf("response is an %s, want EBDResponse", e.Header.EBDType)
	}
	return e.Response.ResultCode, e.Response.ResultDesc, nil
}
