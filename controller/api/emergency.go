package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"dalaba/controller/audio"
	"dalaba/controller/dispatch"
	"dalaba/controller/review"
	"dalaba/controller/tts"
	"dalaba/proto/priority"
	"dalaba/proto/wire"
)

// Emergencies (应急广播): this town's emergency, by severity, cutting in on anything routine.
// What is said comes from an approved emergency template (any staff member may send one), or is
// free text or audio (reviewers and admins only: it has had no review, so the sender answers for
// it). Targets must lie inside the sender's scope. Every emergency is in the audit log before it
// goes out.

// Defaults and limits of an emergency request.
const (
	DefaultEmergencyFor      = 30 * time.Minute // until ends_at, when none is given
	DefaultEmergencyVolume   = 100
	DefaultEmergencyInterval = 3 * time.Second // between plays, when repeat > 1
)

// emergencyInput is an emergency as staff send it: JSON, or a multipart form with the same
// fields and the WAV file in "audio".
type emergencyInput struct {
	Title     string      `json:"title"`
	Text      string      `json:"text"`
	Template  templateRef `json:"template"` // an announcement key or id
	Voice     string      `json:"voice"`
	Severity  int         `json:"severity"`
	Targets   string      `json:"targets"`
	Repeat    *int        `json:"repeat"`     // plays in all; 1
	IntervalS *float64    `json:"interval_s"` // silence between plays
	EndsAt    string      `json:"ends_at"`    // RFC 3339; DefaultEmergencyFor from now
	Volume    *int        `json:"volume"`     // forced on every terminal, 1-100; 100

	audio io.Reader
}

// templateRef takes an announcement key ("flood-warning") or id (12, or "12").
type templateRef string

func (t *templateRef) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*t = templateRef(n.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("template: want an announcement key or id: %w", err)
	}
	*t = templateRef(s)
	return nil
}

// emergency is a checked emergency request, ready to audit and send.
type emergency struct {
	req    dispatch.Request
	source string // template, text or audio
	tmpl   review.Announcement
	text   string
}

// createEmergency: POST /api/v1/emergencies -> 201 {"id"}.
func (s *Server) createEmergency(w http.ResponseWriter, r *http.Request, u review.User) {
	in, cleanup, err := readEmergency(w, r)
	defer cleanup()
	if err != nil {
		s.limitFail(s.reviewFail)(w, r, err)
		return
	}
	req, err := checkEmergency(in, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkScope(u, req.Targets); err != nil {
		s.refuseOutside(w, r, u, "emergency", "user:"+u.Name, req.Targets, err)
		return
	}
	em, ok := s.emergencyContent(w, r, u, in, req)
	if !ok {
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		s.fail(w, r, fmt.Errorf("new broadcast id: %w", err))
		return
	}
	em.req.ID = id.String()
	// In the record before it goes out: no emergency leaves without its audit entry.
	if err := s.Review.Record(r.Context(), u.Name, "emergency", "broadcast:"+em.req.ID, emergencyRecord(u, em)); err != nil {
		s.fail(w, r, err)
		return
	}
	bid, err := s.Dispatcher.Broadcast(r.Context(), em.req)
	if err != nil {
		s.record(r.Context(), u, "emergency_failed", "broadcast:"+em.req.ID, map[string]string{"error": err.Error()})
		s.ttsFail(w, r, err)
		return
	}
	s.Log.Warn("emergency sent", "broadcast", bid, "by", u.Name, "severity", em.req.Severity, "targets", targetList(em.req.Targets),
		"source", em.source)
	w.Header().Set("Location", "/api/v1/broadcasts/"+bid)
	writeJSON(w, http.StatusCreated, map[string]any{"id": bid, "priority": int32(em.req.Priority), "severity": em.req.Severity,
		"ends_at": em.req.EndAt})
}

// readEmergency reads JSON or a multipart form. cleanup removes the form's temporary files.
func readEmergency(w http.ResponseWriter, r *http.Request) (emergencyInput, func(), error) {
	var in emergencyInput
	nothing := func() {}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return in, nothing, decodeJSON(w, r, &in)
	}
	r.Body = http.MaxBytesReader(w, r.Body, dispatch.MaxAudioBytes+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return in, nothing, err
		}
		return in, nothing, badField("form", "请求格式错误：需要 JSON 或 multipart 表单", err)
	}
	cleanup := func() { r.MultipartForm.RemoveAll() }
	in.Title, in.Text, in.Voice = r.FormValue("title"), r.FormValue("text"), r.FormValue("voice")
	in.Template, in.Targets, in.EndsAt = templateRef(r.FormValue("template")), r.FormValue("targets"), r.FormValue("ends_at")
	var err error
	if v := r.FormValue("severity"); v != "" {
		if in.Severity, err = strconv.Atoi(v); err != nil {
			return in, cleanup, badField("severity", "应急级别须为 1（红色）到 4（蓝色）", err)
		}
	}
	for _, f := range []struct {
		name string
		dst  **int
		msg  string
	}{{"repeat", &in.Repeat, "重复次数须为整数"}, {"volume", &in.Volume, "强制音量须为 1 到 100 的整数"}} {
		if v := r.FormValue(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return in, cleanup, badField(f.name, f.msg, err)
			}
			*f.dst = &n
		}
	}
	if v := r.FormValue("interval_s"); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return in, cleanup, badField("interval_s", "重复间隔须为秒数", err)
		}
		in.IntervalS = &x
	}
	if f, fh, err := r.FormFile("audio"); err == nil {
		if err := checkUpload(f, fh); err != nil {
			return in, cleanup, err
		}
		in.audio = f // closed with the form
	}
	return in, cleanup, nil
}

func badField(field, message string, err error) *review.Error {
	return &review.Error{Kind: review.Invalid, Field: field, Message: message, Err: err}
}

// checkEmergency checks every field and fills in the defaults; the content is checked later.
func checkEmergency(in emergencyInput, now time.Time) (dispatch.Request, error) {
	bad := func(field, message string, err error) (dispatch.Request, error) {
		return dispatch.Request{}, &dispatch.InputError{Field: field, Message: message, Err: err}
	}
	req := dispatch.Request{Title: strings.TrimSpace(in.Title), Severity: priority.Severity(in.Severity),
		Repeat: 1, ForcedVolume: DefaultEmergencyVolume, EndAt: now.Add(DefaultEmergencyFor)}
	if in.Severity < int(priority.Red) || in.Severity > int(priority.Blue) {
		return bad("severity", "应急级别须为 1（特别重大，红色）、2（重大，橙色）、3（较大，黄色）或 4（一般，蓝色）",
			fmt.Errorf("severity %d outside 1..4", in.Severity))
	}
	targets, err := wire.ParseAddresses(in.Targets)
	if err != nil {
		return bad("targets", "目标地址格式错误，应为 town:/village:/group:/terminal: 加编码，多个用逗号分隔", err)
	}
	req.Targets = targets
	if in.Repeat != nil {
		if *in.Repeat < 1 || *in.Repeat > dispatch.MaxRepeat {
			return bad("repeat", fmt.Sprintf("重复次数须在 1 到 %d 之间", dispatch.MaxRepeat), fmt.Errorf("repeat %d outside 1..%d", *in.Repeat, dispatch.MaxRepeat))
		}
		req.Repeat = int32(*in.Repeat)
	}
	if req.Repeat > 1 {
		req.RepeatInterval = DefaultEmergencyInterval
	}
	if in.IntervalS != nil {
		d := time.Duration(*in.IntervalS * float64(time.Second))
		if *in.IntervalS < 0 || d > dispatch.MaxInterval {
			return bad("interval_s", "重复间隔须在 0 到 600 秒之间", fmt.Errorf("interval %v s outside 0..600", *in.IntervalS))
		}
		req.RepeatInterval = d
	}
	if in.Volume != nil {
		if *in.Volume < 1 || *in.Volume > 100 {
			return bad("volume", "强制音量须在 1 到 100 之间", fmt.Errorf("volume %d outside 1..100", *in.Volume))
		}
		req.ForcedVolume = int32(*in.Volume)
	}
	if in.EndsAt != "" {
		end, err := time.Parse(time.RFC3339, in.EndsAt)
		switch {
		case err != nil:
			return bad("ends_at", "结束时间格式错误，应如 2026-07-01T18:00:00+08:00", err)
		case !end.After(now):
			return bad("ends_at", "结束时间须晚于现在", fmt.Errorf("ends_at %s is not in the future", in.EndsAt))
		case end.Sub(now) > dispatch.MaxValidFor:
			return bad("ends_at", "结束时间须在 24 小时以内", fmt.Errorf("ends_at %s is more than %s away", in.EndsAt, dispatch.MaxValidFor))
		}
		req.EndAt = end
	}
	// A terminal that comes online before the end still plays it.
	req.ValidFor = min(req.EndAt.Sub(now), dispatch.MaxValidFor)
	if req.Priority, err = priority.Emergency(false, req.Severity); err != nil {
		return bad("severity", "应急级别无效", err)
	}
	return req, nil
}

// emergencyContent fills in what is said: a template's text spoken (or its program), free
// text spoken, or the uploaded audio. It answers the request itself when it refuses.
func (s *Server) emergencyContent(w http.ResponseWriter, r *http.Request, u review.User, in emergencyInput, req dispatch.Request) (emergency, bool) {
	em := emergency{req: req}
	text, ref := strings.TrimSpace(in.Text), strings.TrimSpace(string(in.Template))
	given := 0
	for _, ok := range []bool{text != "", ref != "", in.audio != nil} {
		if ok {
			given++
		}
	}
	if given != 1 {
		s.fail(w, r, &dispatch.InputError{Field: "text", Message: "应急内容须为文字（text）、应急模板（template）或音频（audio）三者之一",
			Err: fmt.Errorf("%d of text, template and audio given, want exactly one", given)})
		return em, false
	}
	if ref != "" {
		a, err := s.Review.EmergencyTemplate(r.Context(), ref)
		if err != nil {
			s.reviewFail(w, r, err)
			return em, false
		}
		em.source, em.tmpl, text = "template", a, a.Text
		if em.req.Title == "" {
			em.req.Title = a.Title
		}
		if a.Text == "" {
			pcm, err := s.Dispatcher.Programs.Get(a.ProgramID)
			if err != nil {
				s.fail(w, r, fmt.Errorf("emergency template %d program: %w", a.ID, err))
				return em, false
			}
			em.req.PCM, em.req.Source = pcm, "program "+a.ProgramID
			return em, true
		}
		return em, s.speak(w, r, &em, text, a.Voice)
	}
	// Free text or audio: no review stands behind it, so the sender must be someone who may
	// approve (谁公开谁审核).
	if !u.Is(review.Reviewer, review.Admin) {
		s.record(r.Context(), u, "emergency_denied", "user:"+u.Name, map[string]any{"why": "unreviewed content by " + string(u.Role),
			"targets": targetList(req.Targets), "text": text})
		writeJSON(w, http.StatusForbidden, apiError{Error: "未经审核的应急内容（自拟文字或音频）只能由审核人或管理员发送（谁公开谁审核）；撰稿人请使用已审核的应急模板",
			Field: "text", Detail: "user " + u.Name + " has role " + string(u.Role) + "; free text or audio needs reviewer or admin"})
		return em, false
	}
	if em.req.Title == "" {
		s.fail(w, r, &dispatch.InputError{Field: "title", Message: "请填写应急广播标题", Err: errors.New("title is empty")})
		return em, false
	}
	if in.audio != nil {
		// Converted here, not by the dispatcher, so that a bad upload is refused before the
		// emergency is audited as sent.
		pcm, src, err := audio.Convert(in.audio, dispatch.MaxAudioBytes)
		if errors.Is(err, audio.ErrBadAudio) {
			s.fail(w, r, &dispatch.InputError{Field: "audio", Message: fmt.Sprintf("音频文件无法使用：%v", err), Err: err})
			return em, false
		}
		if err != nil {
			s.fail(w, r, fmt.Errorf("convert emergency audio: %w", err))
			return em, false
		}
		em.source, em.req.PCM, em.req.Source = "audio", pcm, src.String()
		return em, true
	}
	if n := utf8.RuneCountInString(text); n > tts.MaxTextRunes {
		s.fail(w, r, &dispatch.InputError{Field: "text", Message: fmt.Sprintf("应急广播文字不能超过 %d 个字（现有 %d 个字）", tts.MaxTextRunes, n),
			Err: fmt.Errorf("text has %d characters, limit %d", n, tts.MaxTextRunes)})
		return em, false
	}
	em.source, em.text = "text", text
	return em, s.speak(w, r, &em, text, in.Voice)
}

// speak turns text into the program through the TTS path announcements use.
func (s *Server) speak(w http.ResponseWriter, r *http.Request, em *emergency, text, voice string) bool {
	if s.TTS == nil {
		s.ttsFail(w, r, tts.ErrUnavailable)
		return false
	}
	pcm, err := s.TTS.Speak(r.Context(), text, voice)
	if err != nil {
		s.ttsFail(w, r, err)
		return false
	}
	em.req.PCM, em.req.Source = pcm, "tts "+voice
	return true
}

// emergencyRecord is the audit entry of an emergency: who sent what, how severe, to where.
func emergencyRecord(u review.User, em emergency) map[string]any {
	rec := map[string]any{
		"broadcast_id": em.req.ID, "title": em.req.Title, "severity": em.req.Severity, "severity_name": em.req.Severity.Chinese(),
		"priority": int32(em.req.Priority), "targets": targetList(em.req.Targets), "scope": u.Scope, "role": u.Role,
		"source": em.source, "repeat": em.req.Repeat, "interval_s": em.req.RepeatInterval.Seconds(),
		"ends_at": em.req.EndAt, "volume": em.req.ForcedVolume,
	}
	switch em.source {
	case "template":
		rec["template"], rec["template_key"], rec["template_title"] = em.tmpl.ID, em.tmpl.Key, em.tmpl.Title
		rec["template_revision"], rec["template_reviewer"] = em.tmpl.Revision, em.tmpl.Reviewer
	case "text":
		rec["text"] = em.text
	case "audio":
		rec["audio_seconds"] = float64(len(em.req.PCM)) / wire.BytesPerSecond
	}
	return rec
}

func targetList(targets []wire.Address) []string {
	out := make([]string, len(targets))
	for i, t := range targets {
		out[i] = t.String()
	}
	return out
}
