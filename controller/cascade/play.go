package cascade

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"dalaba/controller/audio"
	"dalaba/controller/dispatch"
	"dalaba/controller/inventory"
	"dalaba/controller/receipts"
	"dalaba/controller/tts"
	"dalaba/proto/priority"
	"dalaba/proto/wire"
)

// EmergencyVolume is the volume every terminal plays an upper-level emergency at, as this
// town's own emergencies default to.
const EmergencyVolume = 100

// accept acts on an authentic message: relays it to the platforms below whose areas it names,
// and plays it on this town's terminals in its areas, through the dispatcher at the
// upper-level emergency level.
func (s *Service) accept(ctx context.Context, a *Alert) Outcome {
	if a.Cancel {
		return s.cancel(ctx, a)
	}
	now := time.Now()
	if !a.End.After(now) {
		return Outcome{Code: ResultOther, Desc: "消息已过结束时间，不再播发", Err: fmt.Errorf("message %s ended at %s", a.ID, a.End.Format(time.RFC3339))}
	}
	inv := s.Inventory()
	byArea, notOurs := Targets(inv, a.Areas)
	var downs []below
	if a.Format == "ebd" { // platforms exchange EBDs: a CAP alert has no EBMID to relay under
		downs = s.downstreamFor(a.Areas)
		notOurs = slices.DeleteFunc(notOurs, func(code string) bool { return s.coveredBelow(code) })
	}
	if len(byArea) == 0 && len(downs) == 0 {
		return Outcome{Code: ResultOther, Desc: "不属于本平台覆盖区域：" + strings.Join(notOurs, ","),
			Err: fmt.Errorf("message %s: no area code is ours: %v", a.ID, a.Areas)}
	}
	targets, note := s.localTargets(a, byArea, inv)
	rec := record{ID: a.ID, Format: a.Format, Issuer: a.Issuer, Title: a.Title, Severity: int(a.Severity), Drill: a.Drill,
		Areas: a.Areas, Received: now, End: a.End}
	if len(targets) > 0 {
		rec.BroadcastID = broadcastID(a)
	}
	for _, d := range downs {
		rec.RelayedTo = append(rec.RelayedTo, d.platform.Name)
	}
	fresh, err := insertAlert(ctx, s.DB, rec)
	if err != nil {
		return refuse(err)
	}
	if !fresh {
		return Outcome{Code: ResultOK, Desc: "该消息已接收（重复的消息编号，不重复播发）"}
	}
	for _, d := range downs {
		go s.relay(a, d)
	}
	desc := []string{ResultOK.Chinese()}
	if note != "" {
		desc = append(desc, note)
	}
	if len(notOurs) > 0 {
		desc = append(desc, "以下区域不属于本平台，已忽略："+strings.Join(notOurs, ","))
	}
	if rec.BroadcastID != "" {
		if out := s.play(ctx, a, targets, rec.BroadcastID); out.Code != ResultOK {
			// Forgotten, so that the platform may send it again (in a new envelope) once the
			// cause is fixed; platforms below that had it answer the resend as a duplicate.
			if err := deleteAlert(ctx, s.DB, a.ID); err != nil {
				s.Log.Error("message that did not play stays recorded", "message", a.ID, "err", err)
			}
			return out
		}
	}
	go s.watch(a.ID, rec.BroadcastID)
	return Outcome{Code: ResultOK, Desc: strings.Join(desc, "；")}
}

// localTargets are the addresses the message plays on here: its areas, or for a drill only
// the drill terminals in them (or none, as configured).
func (s *Service) localTargets(a *Alert, byArea map[string][]wire.Address, inv *inventory.Inventory) ([]wire.Address, string) {
	var all []wire.Address
	for _, code := range a.Areas {
		for _, ad := range byArea[code] {
			if !slices.Contains(all, ad) {
				all = append(all, ad)
			}
		}
	}
	if !a.Drill || len(all) == 0 {
		return all, ""
	}
	if s.Config.Drills == "off" {
		return nil, "演练消息：本平台配置为不播放演练"
	}
	in := map[string]bool{}
	for _, ad := range all {
		for _, t := range inv.Under(ad) {
			in[t.ID] = true
		}
	}
	var drill []wire.Address
	for _, id := range s.Config.DrillTerminals {
		if in[id] {
			drill = append(drill, wire.Address{Tier: wire.TierTerminal, Code: id})
		}
	}
	if len(drill) == 0 {
		return nil, "演练消息：区域内没有参加演练的终端"
	}
	return drill, fmt.Sprintf("演练消息：仅在 %d 个演练终端播放", len(drill))
}

// play makes the program (the attached audio, else the text spoken) and sends it as an
// upper-level emergency, in the audit log first as local emergencies are.
func (s *Service) play(ctx context.Context, a *Alert, targets []wire.Address, id string) Outcome {
	level, err := priority.Emergency(true, a.Severity)
	if err != nil {
		return refuse(err)
	}
	now := time.Now()
	req := dispatch.Request{ID: id, Title: a.Title, Targets: targets, Priority: level, Severity: a.Severity, Repeat: 1,
		ForcedVolume: EmergencyVolume, EndAt: a.End, ValidFor: min(a.End.Sub(now), dispatch.MaxValidFor)}
	if err := s.content(ctx, a, &req); err != nil {
		return refuse(err)
	}
	if err := s.Audit(ctx, "cascade:"+a.Issuer, "emergency", "broadcast:"+id, map[string]any{
		"message_id": a.ID, "format": a.Format, "sender": a.SenderName, "sender_code": a.SenderCode, "title": a.Title,
		"severity": a.Severity, "severity_name": a.Severity.Chinese(), "priority": int32(level), "drill": a.Drill,
		"areas": a.Areas, "targets": addrList(targets), "source": req.Source, "ends_at": a.End}); err != nil {
		return refuse(err)
	}
	if _, err := s.Dispatcher.Broadcast(ctx, req); err != nil {
		return refuse(fmt.Errorf("dispatch message %s: %w", a.ID, err))
	}
	s.Log.Warn("upper-level emergency sent", "broadcast", id, "message", a.ID, "issuer", a.Issuer, "severity", a.Severity,
		"targets", addrList(targets), "drill", a.Drill, "source", req.Source)
	return Outcome{Code: ResultOK}
}

// content is the first audio attachment converted, or the description (else the title) spoken.
func (s *Service) content(ctx context.Context, a *Alert, req *dispatch.Request) error {
	if len(a.Audio) > 0 {
		pcm, src, err := audio.Convert(bytes.NewReader(a.Audio[0].Data), dispatch.MaxAudioBytes)
		if errors.Is(err, audio.ErrBadAudio) {
			return missing("attachment %s is not usable audio (WAV): %v", a.Audio[0].Name, err)
		}
		if err != nil {
			return fmt.Errorf("convert attachment %s: %w", a.Audio[0].Name, err)
		}
		req.PCM, req.Source = pcm, "cascade "+a.Audio[0].Name+" "+src.String()
		return nil
	}
	text := a.Description
	if text == "" {
		text = a.Title
	}
	if n := utf8.RuneCountInString(text); n > tts.MaxTextRunes {
		return missing("text has %d characters, limit %d", n, tts.MaxTextRunes)
	}
	if s.TTS == nil {
		return fmt.Errorf("message %s has no audio and text-to-speech is not available: %w", a.ID, tts.ErrUnavailable)
	}
	pcm, err := s.TTS.Speak(ctx, text, s.Config.Voice)
	if err != nil {
		return fmt.Errorf("speak message %s: %w", a.ID, err)
	}
	req.PCM, req.Source = pcm, "tts "+s.Config.Voice
	return nil
}

// broadcastID is the message's broadcast here: the same message never plays twice.
func broadcastID(a *Alert) string {
	if a.Format == "ebd" {
		return "ebm-" + a.ID
	}
	h := sha256.Sum256([]byte(a.ID))
	return "cap-" + hex.EncodeToString(h[:16])
}

// cancel stops a message everywhere: here through the dispatcher's cancel, and below.
func (s *Service) cancel(ctx context.Context, a *Alert) Outcome {
	rec, err := loadAlert(ctx, s.DB, a.CancelsID)
	if errors.Is(err, ErrUnknownAlert) {
		return Outcome{Code: ResultOther, Desc: "要取消的消息未曾接收：" + a.CancelsID, Err: err}
	}
	if err != nil {
		return refuse(err)
	}
	if rec.Issuer != a.Issuer {
		return Outcome{Code: ResultSignature, Desc: ResultSignature.Chinese() + "：取消须由原发布平台签发",
			Err: fmt.Errorf("cancel of %s signed by %s, message was from %s", rec.ID, a.Issuer, rec.Issuer)}
	}
	now := time.Now()
	if err := markCancelled(ctx, s.DB, rec.ID, now); err != nil {
		return refuse(err)
	}
	for _, d := range s.Config.Downstream {
		if slices.Contains(rec.RelayedTo, d.Name) {
			go s.relayCancel(a, rec, d)
		}
	}
	if rec.BroadcastID != "" {
		reason := "上级平台取消：" + a.SenderCode
		_, err := s.Dispatcher.Cancel(ctx, rec.BroadcastID, reason)
		if err != nil && !errors.Is(err, receipts.ErrClosed) {
			return refuse(fmt.Errorf("cancel broadcast %s: %w", rec.BroadcastID, err))
		}
		if err := s.Audit(ctx, "cascade:"+a.Issuer, "cancel", "broadcast:"+rec.BroadcastID,
			map[string]any{"message_id": rec.ID, "reason": reason}); err != nil {
			s.Log.Error("cancel not in the audit log", "broadcast", rec.BroadcastID, "err", err)
		}
	}
	s.Log.Warn("upper-level emergency cancelled", "message", rec.ID, "broadcast", rec.BroadcastID, "issuer", a.Issuer)
	go s.sendState(rec.ID)
	return Outcome{Code: ResultOK, Desc: "已取消"}
}

func addrList(as []wire.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
