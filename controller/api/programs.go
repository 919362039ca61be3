package api

import (
	"errors"
	"fmt"
	"net/http"

	"dalaba/controller/audio"
	"dalaba/controller/dispatch"
	"dalaba/controller/review"
)

// uploadProgram: POST /api/v1/programs (multipart, the WAV in "audio") -> 201 {"id",
// "duration_ms"}: a recording for an announcement (its program_id), converted and stored as a
// broadcast's upload is. Storing is not sending: the announcement still goes through review.
func (s *Server) uploadProgram(w http.ResponseWriter, r *http.Request, u review.User) {
	if err := parseUpload(w, r, "audio", "请求格式错误：需要 multipart 表单，录音文件放在 audio 字段"); err != nil {
		s.fail(w, r, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	f, fh, err := r.FormFile("audio")
	if err != nil {
		s.fail(w, r, &dispatch.InputError{Field: "audio", Message: "请选择要上传的录音文件（WAV）", Err: err})
		return
	}
	defer f.Close()
	if err := checkUpload(f, fh); err != nil {
		s.limitFail(s.fail)(w, r, err)
		return
	}
	pcm, src, err := audio.Convert(f, dispatch.MaxAudioBytes)
	if errors.Is(err, audio.ErrBadAudio) {
		s.fail(w, r, &dispatch.InputError{Field: "audio", Message: fmt.Sprintf("录音文件无法使用：%v", err), Err: err})
		return
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("convert program upload: %w", err))
		return
	}
	prog, err := s.Dispatcher.Programs.Put(r.Context(), pcm, fmt.Sprintf("upload by %s: %s", u.Name, src))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/programs/"+prog.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"id": prog.ID, "duration_ms": prog.Duration.Milliseconds()})
}

// parseUpload reads a multipart form holding an audio file: a body over the upload limit is
// the *http.MaxBytesError (413), any other failure an InputError on field with message.
func parseUpload(w http.ResponseWriter, r *http.Request, field, message string) error {
	r.Body = http.MaxBytesReader(w, r.Body, dispatch.MaxAudioBytes+1<<20)
	err := r.ParseMultipartForm(8 << 20)
	var tooBig *http.MaxBytesError
	if err == nil || errors.As(err, &tooBig) {
		return err
	}
	return &dispatch.InputError{Field: field, Message: message, Err: err}
}
