package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http/httptest"
	"testing"
	"time"

	"dalaba/controller/limits"
)

// wavFile is a multipart.File of a WAV header over a silent body it does not hold.
type wavFile struct {
	*bytes.Reader
}

func (wavFile) Close() error { return nil }

func header(rate int, dataBytes uint32) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00")
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*2))
	b = append(b, 2, 0, 16, 0)
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, dataBytes)
}

// checkUpload refuses a file over the size limit with 413 and one over the program length with
// 400, each naming the limit, before anything reads the audio.
func TestCheckUploadLimits(t *testing.T) {
	small := header(8000, 16000)
	small = append(small, make([]byte, 16000)...)
	if err := checkUpload(wavFile{bytes.NewReader(small)}, &multipart.FileHeader{Size: int64(len(small))}); err != nil {
		t.Fatalf("a 1 s program: %v", err)
	}

	err := checkUpload(wavFile{bytes.NewReader(small)}, &multipart.FileHeader{Size: limits.MaxAudioBytes + 1})
	var large *limits.TooLargeError
	if !errors.As(err, &large) || large.Chinese() != "音频文件过大：不能超过 64 MB" {
		t.Fatalf("a file over 64 MiB: %v", err)
	}
	w := httptest.NewRecorder()
	if !limits.Answer(w, err) || w.Code != 413 {
		t.Fatalf("answered %d", w.Code)
	}
	var e apiError
	if json.Unmarshal(w.Body.Bytes(), &e); e.Field != "audio" || e.Error != "音频文件过大：不能超过 64 MB" {
		t.Fatalf("answer %+v", e)
	}

	// 31 minutes declared and held (the file is sparse: only its header is real).
	data := uint32(8000 * 2 * 31 * 60)
	h := header(8000, data)
	f := wavFile{bytes.NewReader(append(h, make([]byte, data)...))}
	err = checkUpload(f, &multipart.FileHeader{Size: int64(len(h)) + int64(data)})
	var long *limits.TooLongError
	if !errors.As(err, &long) || long.Duration != 31*time.Minute {
		t.Fatalf("a 31 min program: %v", err)
	}
	w = httptest.NewRecorder()
	limits.Answer(w, err)
	if json.Unmarshal(w.Body.Bytes(), &e); w.Code != 400 || e.Field != "audio" || e.Error != "音频时长 31 分钟 超过上限 30 分钟，请剪短或分段播出" {
		t.Fatalf("answered %d %+v", w.Code, e)
	}
}
