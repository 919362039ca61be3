package cascade

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// Outcome is how a message was answered.
type Outcome struct {
	Code ResultCode
	Desc string // Chinese, for the platform's operators
	Err  error  // the reason, for the log
	// State answers an EBMStateRequest: sent instead of an EBDResponse.
	State *EBMStateResponse
}

func refuse(err error) Outcome {
	var pe *ParseError
	if errors.As(err, &pe) {
		return Outcome{Code: pe.Code, Desc: pe.Code.Chinese() + "：" + pe.Err.Error(), Err: err}
	}
	return Outcome{Code: ResultOther, Desc: "其他错误：" + err.Error(), Err: err}
}

// serveEBD takes an EBD package and answers with a signed EBDResponse package.
func (s *Service) serveEBD(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxPackageBytes)
	var related string
	out := func() Outcome {
		p, err := ReadPackage(r.Body)
		if err != nil {
			return refuse(err)
		}
		e, err := ParseEBD(p.Message)
		if err != nil {
			return refuse(err)
		}
		related = e.Header.EBDID
		return s.takeEBD(r, p, e)
	}()
	lvl := s.Log.Info
	if out.Code != ResultOK {
		lvl = s.Log.Warn
	}
	lvl("cascade EBD answered", "ebd", related, "from", r.RemoteAddr, "result", out.Code, "desc", out.Desc, "err", out.Err)
	s.answerEBD(w, related, out)
}

// takeEBD authenticates the envelope for its kind and acts on it.
func (s *Service) takeEBD(r *http.Request, p *Package, e *EBD) Outcome {
	now := time.Now()
	role := Downstream
	if e.Header.EBDType == TypeEBM || e.Header.EBDType == TypeStateReq {
		role = Upper
	}
	is, err := s.trust.Verify(p.Message, p.Signature, role, now)
	if err != nil {
		return refuse(err)
	}
	if e.Header.EBDType == TypeEBM {
		a, err := e.Alert()
		if err != nil {
			return refuse(err)
		}
		a.Issuer = is.Name
		if err := attachFiles(a, p.Files, sm3Hex); err != nil {
			return refuse(err)
		}
		// Claimed only now: a genuine id with a damaged attachment can be sent again whole.
		if err := claimEnvelope(r.Context(), s.DB, e.Header.EBDID, is.Name, now); err != nil {
			return refuse(err)
		}
		return s.accept(context.WithoutCancel(r.Context()), a) // authentic: carried through even if the sender hangs up
	}
	if err := claimEnvelope(r.Context(), s.DB, e.Header.EBDID, is.Name, now); err != nil {
		return refuse(err)
	}
	switch e.Header.EBDType {
	case TypeState:
		return s.takeReport(r.Context(), is.Name, e.State)
	case TypeStateReq:
		return s.answerState(r.Context(), e.StateReq.EBMID)
	case TypeCheck:
		s.peerSeen(is.Name, func(ps *PeerStatus) { ps.LastHeartbeat = now })
	case TypeTerminalRept:
		on := 0
		for _, t := range e.Terms.Terminals {
			if t.StateCode == ResOn || t.StateCode == ResBroadcasting {
				on++
			}
		}
		s.peerSeen(is.Name, func(ps *PeerStatus) {
			ps.TerminalsOn, ps.TerminalsTotal, ps.LastStateReport = on, len(e.Terms.Terminals), now
		})
	}
	return Outcome{Code: ResultOK, Desc: ResultOK.Chinese()}
}

// attachFiles fills in each audio attachment from the package (or keeps CAP's inline data)
// and checks its size and digest: a file changed after signing fails like the signature.
func attachFiles(a *Alert, files map[string][]byte, digest func([]byte, int) string) error {
	for i := range a.Audio {
		at := &a.Audio[i]
		if at.Data == nil {
			b, ok := files[at.Name]
			if !ok {
				return missing("attachment %s is not in the package", at.Name)
			}
			at.Data = b
		}
		if int64(len(at.Data)) != at.Size {
			return sigErr("attachment %s has %d bytes, the message says %d", at.Name, len(at.Data), at.Size)
		}
		if got := digest(at.Data, len(at.Digest)); got != at.Digest {
			return sigErr("attachment %s digest %s, the message says %s", at.Name, got, at.Digest)
		}
	}
	return nil
}

func sm3Hex(b []byte, _ int) string {
	h := sm3.Sum(b)
	return hex.EncodeToString(h[:])
}

// capDigest is SHA-1 (CAP 1.2) or SHA-256, by the length the message gave.
func capDigest(b []byte, hexLen int) string {
	if hexLen == 40 {
		h := sha1.Sum(b)
		return hex.EncodeToString(h[:])
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// answerEBD writes the signed EBDResponse. A response that cannot be signed is a 500: an
// unsigned answer would be refused above anyway.
func (s *Service) answerEBD(w http.ResponseWriter, related string, out Outcome) {
	e := &EBD{Header: s.envelope(TypeResponse, "", related), Response: &EBDResponse{ResultCode: out.Code, ResultDesc: out.Desc}}
	if out.State != nil {
		e = &EBD{Header: s.envelope(TypeState, "", related), State: out.State}
	}
	p, err := s.pack(e, nil)
	if err != nil {
		s.Log.Error("cascade response not signed", "err", err)
		http.Error(w, "response not signed", http.StatusInternalServerError)
		return
	}
	b, err := p.Bytes()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Write(b)
}

// serveCAP takes a CAP package and answers with a CAP Ack (taken) or Error, its note holding
// the result code and description.
func (s *Service) serveCAP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxPackageBytes)
	var c *CAPAlert
	out := func() Outcome {
		p, err := ReadPackage(r.Body)
		if err != nil {
			return refuse(err)
		}
		now := time.Now()
		is, err := s.trust.Verify(p.Message, p.Signature, Upper, now)
		if err != nil {
			return refuse(err)
		}
		if c, err = ParseCAP(p.Message); err != nil {
			return refuse(err)
		}
		a, err := c.Alert()
		if err != nil {
			return refuse(err)
		}
		a.Issuer = is.Name
		if err := attachFiles(a, p.Files, capDigest); err != nil {
			return refuse(err)
		}
		if err := claimEnvelope(r.Context(), s.DB, "cap:"+a.EnvelopeID, is.Name, now); err != nil {
			return refuse(err)
		}
		return s.accept(context.WithoutCancel(r.Context()), a) // authentic: carried through even if the sender hangs up
	}()
	s.Log.Info("cascade CAP answered", "from", r.RemoteAddr, "result", out.Code, "desc", out.Desc, "err", out.Err)
	ack := &CAPAlert{Identifier: s.newEBDID(), Sender: s.Config.PlatformID, Sent: time.Now().In(cst).Format(time.RFC3339),
		Status: "Actual", MsgType: "Ack", Scope: "Private", Note: fmt.Sprintf("%d %s", out.Code, out.Desc)}
	if out.Code != ResultOK {
		ack.MsgType = "Error"
	}
	if c != nil {
		ack.References = c.Sender + "," + c.Identifier + "," + c.Sent
	}
	b, err := ack.Encode()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Write(b)
}
