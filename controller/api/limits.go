package api

import (
	"mime/multipart"
	"net/http"

	"dalaba/controller/limits"
)

// checkUpload applies the upload limits to a form's audio file before anything converts it:
// over limits.MaxAudioBytes is a *limits.TooLargeError (413), longer than
// limits.MaxProgramDuration a *limits.TooLongError (400). A file whose headers say nothing is
// left to the converter, which refuses it with its own reason.
func checkUpload(f multipart.File, fh *multipart.FileHeader) error {
	if fh.Size > limits.MaxAudioBytes {
		return &limits.TooLargeError{What: "音频文件", Size: fh.Size, Limit: limits.MaxAudioBytes}
	}
	if d, ok := limits.WAVDuration(f, fh.Size); ok && d > limits.MaxProgramDuration {
		return &limits.TooLongError{Duration: d, Limit: limits.MaxProgramDuration}
	}
	return nil
}

// limitFail answers the errors of checkUpload; anything else goes to next.
func (s *Server) limitFail(next func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if !limits.Answer(w, err) {
			next(w, r, err)
		}
	}
}
