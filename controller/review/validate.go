package review

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"dalaba/controller/inventory"
	"dalaba/proto/wire"
)

// apply copies the given fields of in onto a; check then judges the result whole.
func (s *Service) apply(a *Announcement, in Input) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&a.Title, in.Title)
	set(&a.Key, in.Key)
	if a.Key != "" && !keyPattern.MatchString(a.Key) {
		return invalid("key", "公告标识只能用小写字母、数字和连字符（2-64 个）", fmt.Errorf("key %q: want [a-z0-9-], 2-64 characters, starting with a letter or digit", a.Key))
	}
	set(&a.Text, in.Text)
	set(&a.ProgramID, in.ProgramID)
	set(&a.Voice, in.Voice)
	if in.Category != nil {
		c, ok := ParseCategory(*in.Category)
		if !ok {
			return invalid("category", "公开类别须为决策公开、执行公开、管理公开、服务公开或结果公开", fmt.Errorf("unknown category %q", *in.Category))
		}
		a.Category = c
	}
	if in.Domain != nil {
		d, ok := ParseDomain(*in.Domain)
		if !ok {
			return invalid("domain", "公开领域不在公开目录中："+*in.Domain, fmt.Errorf("unknown domain %q", *in.Domain))
		}
		a.Domain = d
	}
	if in.ValidFrom != nil {
		a.ValidFrom = in.ValidFrom.Truncate(time.Millisecond) // as stored
	}
	if in.ValidUntil != nil {
		a.ValidUntil = in.ValidUntil.Truncate(time.Millisecond)
	}
	if in.Targets != nil {
		if err := s.setTargets(a, *in.Targets); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) check(ctx context.Context, a *Announcement) error {
	now := s.now()
	switch {
	case a.Title == "":
		return invalid("title", "请填写公告标题", errors.New("title is empty"))
	case utf8.RuneCountInString(a.Title) > MaxTitleRunes:
		return invalid("title", fmt.Sprintf("公告标题不能超过 %d 个字", MaxTitleRunes), fmt.Errorf("title has %d characters, limit %d", utf8.RuneCountInString(a.Title), MaxTitleRunes))
	case a.Category == "":
		return invalid("category", "请选择公开类别（决策、执行、管理、服务、结果公开）", errors.New("no category"))
	case a.Domain == "":
		return invalid("domain", "请选择公开领域", errors.New("no domain"))
	case a.Text == "" && a.ProgramID == "":
		return invalid("text", "请填写公告正文", errors.New("neither text nor program_id"))
	case a.Text != "" && a.ProgramID != "":
		return invalid("text", "公告正文与已上传节目只能选一个", errors.New("both text and program_id"))
	case utf8.RuneCountInString(a.Text) > MaxTextRunes:
		return invalid("text", fmt.Sprintf("公告正文不能超过 %d 个字（现有 %d 个字）", MaxTextRunes, utf8.RuneCountInString(a.Text)),
			fmt.Errorf("text has %d characters, limit %d", utf8.RuneCountInString(a.Text), MaxTextRunes))
	case a.Targets == "":
		return invalid("targets", "请选择广播目标", errors.New("no targets"))
	case !a.ValidUntil.After(now):
		return invalid("valid_until", "有效期截止时间已过", fmt.Errorf("valid_until %s has passed", a.ValidUntil))
	case !a.ValidUntil.After(a.ValidFrom):
		return invalid("valid_until", "有效期截止时间须晚于开始时间", fmt.Errorf("valid_until %s not after valid_from %s", a.ValidUntil, a.ValidFrom))
	}
	if a.Voice != "" && s.ValidateVoice != nil {
		if err := s.ValidateVoice(a.Voice); err != nil {
			return invalid("voice", "播音声音不可用："+a.Voice, err)
		}
	}
	if a.ProgramID != "" {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM programs WHERE id=?`, a.ProgramID).Scan(&n); err != nil {
			return fmt.Errorf("check program %s: %w", a.ProgramID, err)
		}
		if n == 0 {
			return invalid("program_id", "找不到该节目："+a.ProgramID, fmt.Errorf("no program %s", a.ProgramID))
		}
	}
	return nil
}

// setTargets validates the addresses against the inventory and keeps the names of the villages
// they cover, for the public archive.
func (s *Service) setTargets(a *Announcement, targets string) error {
	addrs, err := wire.ParseAddresses(targets)
	if err != nil {
		return invalid("targets", "目标地址格式错误，应为 town:/village:/group:/terminal: 加编码，多个用逗号分隔", err)
	}
	res, err := s.inv().Resolve(addrs)
	var unknown *inventory.UnknownAddressError
	if errors.As(err, &unknown) {
		return invalid("targets", "目标地址不存在："+unknown.Address.String(), err)
	}
	if err != nil {
		return fmt.Errorf("resolve targets: %w", err)
	}
	norm := make([]string, len(addrs))
	for i, ad := range addrs {
		norm[i] = ad.String()
	}
	a.Targets = strings.Join(norm, ",")
	codes := map[string]string{}
	for _, t := range res.Terminals {
		codes[t.VillageCode] = t.VillageName
	}
	keys := make([]string, 0, len(codes))
	for c := range codes {
		keys = append(keys, c)
	}
	sort.Strings(keys)
	a.Villages = make([]string, len(keys))
	for i, c := range keys {
		a.Villages[i] = codes[c]
	}
	return nil
}
