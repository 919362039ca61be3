package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"dalaba/controller/review"
	"dalaba/controller/tts"
)

// publishAnnouncement sends an approved announcement now (先审核后公开: only an approved one
// goes out, and only a reviewer or admin publishes).
func (s *Server) publishAnnouncement(w http.ResponseWriter, r *http.Request, u review.User) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "公告编号错误", Detail: err.Error()})
		return
	}
	bid, err := s.Publish(r.Context(), id)
	switch {
	case errors.Is(err, review.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "找不到该公告", Detail: err.Error()})
	case errors.Is(err, review.ErrNotApproved):
		writeJSON(w, http.StatusConflict, apiError{Error: "公告未经审核通过，不能播出", Detail: err.Error()})
	case errors.Is(err, review.ErrOutsideValidity):
		writeJSON(w, http.StatusConflict, apiError{Error: "公告不在有效期内，不能播出", Detail: err.Error()})
	case err != nil:
		s.ttsFail(w, r, err)
	default:
		s.Log.Info("announcement published", "announcement", id, "broadcast", bid, "by", u.Name)
		writeJSON(w, http.StatusCreated, map[string]any{"broadcast_id": bid, "announcement": id})
	}
}

// ttsFail answers speech errors in words staff understand, and anything else as fail does.
func (s *Server) ttsFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, tts.ErrEmptyText), errors.Is(err, tts.ErrTextTooLong), errors.Is(err, tts.ErrUnknownVoice):
		writeJSON(w, http.StatusBadRequest, apiError{Error: "公告文字或播音员设置有误，无法合成语音", Field: "text", Detail: err.Error()})
	case errors.Is(err, tts.ErrEngineMissing), errors.Is(err, tts.ErrEngineFailed), errors.Is(err, tts.ErrUnavailable):
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "语音合成不可用，请联系管理员", Detail: err.Error()})
	default:
		s.fail(w, r, err)
	}
}

// ttsPreview answers a WAV of text spoken by a voice, for the console's preview.
func (s *Server) ttsPreview(w http.ResponseWriter, r *http.Request, _ review.User) {
	var req struct{ Text, Voice string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "请求格式错误", Detail: err.Error()})
		return
	}
	if s.TTS == nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "语音合成不可用，请联系管理员"})
		return
	}
	wav, err := s.TTS.Preview(r.Context(), req.Text, req.Voice)
	if err != nil {
		s.ttsFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Write(wav)
}

// Publisher sends an approved announcement now and returns the broadcast id.
type Publisher func(ctx context.Context, id int64) (string, error)
