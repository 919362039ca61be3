package dispatch

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"dalaba/proto/priority"
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
	case req.Audio == nil && len(req.PCM) == 0 && req.LiveID == "":
		return inputErr("audio", "请上传音频文件（WAV）", errors.New("no audio"))
	case req.ValidFor < 0 || req.ValidFor > MaxValidFor:
		return inputErr("valid_for", "有效期须在 24 小时以内", fmt.Errorf("valid_for %s outside 0..%s", req.ValidFor, MaxValidFor))
	}
	if req.ValidFor == 0 {
		req.ValidFor = DefaultValidFor
	}
	return validateLevel(req)
}

// validateLevel checks the priority and the emergency fields that go with it.
func validateLevel(req *Request) error {
	if req.Priority == 0 {
		req.Priority = priority.Routine
	}
	switch {
	case !req.Priority.Valid():
		return inputErr("priority", "优先级无效", fmt.Errorf("priority %d is not on the ladder", req.Priority))
	case !req.Severity.Valid():
		return inputErr("severity", "应急级别须为 1（红色）到 4（蓝色）", fmt.Errorf("severity %d outside 0..4", req.Severity))
	case req.Repeat < 0 || req.Repeat > MaxRepeat:
		return inputErr("repeat", fmt.Sprintf("重复次数须在 1 到 %d 之间", MaxRepeat), fmt.Errorf("repeat %d outside 0..%d", req.Repeat, MaxRepeat))
	case req.RepeatInterval < 0 || req.RepeatInterval > MaxInterval:
		return inputErr("interval", "重复间隔须在 0 到 10 分钟之间", fmt.Errorf("interval %s outside 0..%s", req.RepeatInterval, MaxInterval))
	case req.ForcedVolume < 0 || req.ForcedVolume > 100:
		return inputErr("volume", "强制音量须在 1 到 100 之间", fmt.Errorf("forced volume %d outside 0..100", req.ForcedVolume))
	case !req.EndAt.IsZero() && !req.EndAt.After(time.Now()):
		return inputErr("end_at", "结束时间须晚于现在", fmt.Errorf("end time %s is not in the future", req.EndAt.Format(time.RFC3339)))
	case req.LiveID != "" && req.Priority != priority.Shout:
		return inputErr("priority", "实时喊话的优先级须为喊话级", fmt.Errorf("live broadcast at level %v", req.Priority))
	}
	return nil
}
