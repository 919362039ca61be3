package web

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
)

// uploadProgram stores the recording posted in field "audio" through POST /api/v1/programs and
// returns its program id; a missing or refused file is noted on the form's audio field.
func (c *Console) uploadProgram(r *http.Request, u user, f *form) (string, bool) {
	body, ctype, err := forwardFile(r, "audio")
	if errors.Is(err, http.ErrMissingFile) {
		f.fail("audio", "请选择要上传的录音文件（WAV）")
		return "", false
	}
	if err != nil {
		f.fail("audio", "录音文件读取失败，请重新选择")
		return "", false
	}
	ans := c.call(r, u.token, "POST", "/api/v1/programs", ctype, body)
	if !ans.OK() {
		f.fail("audio", ans.Err().Error)
		return "", false
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := ans.Decode(&p); err != nil || p.ID == "" {
		f.fail("audio", "系统内部错误，请联系管理员")
		return "", false
	}
	return p.ID, true
}

// forwardFile copies the posted file of field into a multipart body of its own, as the API
// takes uploads.
func forwardFile(r *http.Request, field string) (io.Reader, string, error) {
	file, fh, err := r.FormFile(field)
	if err != nil {
		return nil, "", err
	}
	defer file.Close()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile(field, fh.Filename)
	if err != nil {
		return nil, "", err
	}
	if _, err := io.Copy(part, file); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return &buf, mw.FormDataContentType(), nil
}
