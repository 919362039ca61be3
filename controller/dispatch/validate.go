package dispatch

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

func validate(req *Request) error {
	req.Title = strings.TrimSpace(req.Title)
	switch {
	case req.Title == "":
		return inputErr("title", "请填写广播标题", errors.New("title is empty"))
	case utf8.RuneCountInString(req.Title) > MaxTitleRunes:
		return inputErr("title", fmt.Sprintf("广播标题不能超过 %d 个字", MaxTitleRunes),
			fmt.Errorf("title has %d characters, limit %d", utf8.RuneCountInString(req.Title), MaxTitleRunes))
	case len(req.Targets) == 0:
		return inputErr("targets", "请选择广播目标", errors.New("no targets"))
	case req.Audio == nil && len(req.PCM) == 0:
		return inputErr("audio", "请上传音频文件（WAV）", errors.New("no audio"))
	case req.ValidFor < 0 || req.ValidFor > MaxValidFor:
		return inputErr("valid_for", "有效期须在 24 小时以内", fmt.Errorf("valid_for %s outside 0..%s", req.ValidFor, MaxValidFor))
	}
	if req.ValidFor == 0 {
		req.ValidFor = DefaultValidFor
	}
	return nil
}
