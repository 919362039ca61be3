package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"dalaba/controller/control"
	"dalaba/proto/dalabapb"
)

// controlReplyJSON is a terminal's answer to a control command.
type controlReplyJSON struct {
	Terminal    string          `json:"terminal"`
	RequestID   string          `json:"request_id"`
	OK          bool            `json:"ok"`
	Failure     string          `json:"failure,omitempty"` // what the terminal said went wrong
	At          time.Time       `json:"at"`                // the terminal's clock when it answered
	Volume      int32           `json:"volume"`            // in force after the command
	RoundTripMs int64           `json:"round_trip_ms"`
	ClockOffset *clockJSON      `json:"clock,omitempty"`
	SelfTest    *selfTestReport `json:"self_test,omitempty"`
}

type clockJSON struct {
	// OffsetMs is the terminal's clock minus the controller's, from the middle of the round
	// trip; TerminalOffsetMs is the terminal's own figure, which includes the transit time.
	OffsetMs         int64 `json:"offset_ms"`
	TerminalOffsetMs int64 `json:"terminal_offset_ms"`
}

type selfTestReport struct {
	DurationMs int64   `json:"duration_ms"` // of tone that went to the device
	Peak       float64 `json:"peak"`        // 0..1 of full scale, after volume
	RMS        float64 `json:"rms"`
	Volume     int32   `json:"volume"`
}

func (s *Server) setVolume(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Volume *int32 `json:"volume"`
	}
	if err := readJSON(r, &body); err != nil || body.Volume == nil {
		s.controlFail(w, r, &control.InputError{Field: "volume", Message: `请求格式错误：需要 JSON，如 {"volume": 60}，音量为 0 到 100 的整数`, Err: bodyErr(err)})
		return
	}
	s.control(w, r, control.SetVolume(*body.Volume), 0)
}

func (s *Server) clockCheck(w http.ResponseWriter, r *http.Request) {
	s.control(w, r, control.ClockCheck(), 0)
}

// selfTest takes an optional body {"tone_hz", "duration_ms", "level"}. It waits longer than
// the other commands: the tone waits for any broadcast playing on the terminal to end.
func (s *Server) selfTest(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ToneHz     int32   `json:"tone_hz"`
		DurationMs int32   `json:"duration_ms"`
		Level      float64 `json:"level"`
	}
	if err := readJSON(r, &body); err != nil && !errors.Is(err, io.EOF) {
		s.controlFail(w, r, &control.InputError{Field: "body", Message: "请求格式错误：自检参数应为 JSON", Err: err})
		return
	}
	s.control(w, r, control.SelfTest(body.ToneHz, body.DurationMs, body.Level), 2*time.Minute)
}

// control sends cmd to the terminal in the path and answers its reply. ?timeout (up to 10 min)
// overrides how long to wait.
func (s *Server) control(w http.ResponseWriter, r *http.Request, cmd *dalabapb.ControlCommand, wait time.Duration) {
	if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && d > 0 && d <= 10*time.Minute {
		wait = d
	}
	ctx := r.Context()
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	res, err := s.Remote.Send(ctx, r.PathValue("id"), cmd)
	var refused *control.TerminalError
	if err != nil && !errors.As(err, &refused) {
		s.controlFail(w, r, err)
		return
	}
	out := replyJSON(res, cmd.GetClockCheck() != nil)
	if refused != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": "终端执行失败：" + refused.Message, "detail": err.Error(), "reply": out})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func replyJSON(res control.Result, clockCheck bool) controlReplyJSON {
	rp := res.Reply
	out := controlReplyJSON{Terminal: rp.GetTerminalId(), RequestID: rp.GetRequestId(), OK: rp.GetOk(), Failure: rp.GetError(),
		At: time.UnixMilli(rp.GetAtUnixMs()), Volume: rp.GetVolume(), RoundTripMs: res.RoundTrip().Milliseconds()}
	if clockCheck && rp.GetOk() {
		out.ClockOffset = &clockJSON{OffsetMs: res.ClockOffset().Milliseconds(), TerminalOffsetMs: rp.GetClockOffsetMs()}
	}
	if st := rp.GetSelfTest(); st != nil {
		out.SelfTest = &selfTestReport{DurationMs: st.GetDurationMs(), Peak: st.GetPeak(), RMS: st.GetRms(), Volume: st.GetVolume()}
	}
	return out
}

// readJSON decodes a small JSON body; an empty one is io.EOF.
func readJSON(r *http.Request, into any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func bodyErr(err error) error {
	if err == nil {
		return errors.New("no volume given")
	}
	return err
}

// controlFail answers the errors of control.Send; the rest go to fail.
func (s *Server) controlFail(w http.ResponseWriter, r *http.Request, err error) {
	var in *control.InputError
	switch {
	case errors.As(err, &in):
		writeJSON(w, http.StatusBadRequest, apiError{Error: in.Message, Field: in.Field, Detail: err.Error()})
	case errors.Is(err, control.ErrUnknownTerminal):
		writeJSON(w, http.StatusNotFound, apiError{Error: "找不到该终端", Detail: err.Error()})
	case errors.Is(err, control.ErrOffline):
		writeJSON(w, http.StatusConflict, apiError{Error: "终端离线，无法操作", Detail: err.Error()})
	case errors.Is(err, control.ErrTimeout):
		writeJSON(w, http.StatusGatewayTimeout, apiError{Error: "终端未在规定时间内应答", Detail: err.Error()})
	default:
		s.fail(w, r, err)
	}
}
