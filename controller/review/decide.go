package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Decision is a reviewer's verdict on one revision of an announcement.
type Decision struct {
	Revision    int      `json:"revision"`    // the revision reviewed; must still be current
	Comment     string   `json:"comment"`     // required to reject
	Acknowledge []string `json:"acknowledge"` // flag ids the reviewer has looked at; all, to approve
}

const maxCommentRunes = 500

// Approve passes the revision the reviewer read. Only a reviewer or admin who is not the author
// may, and only once every secrecy flag is acknowledged.
func (s *Service) Approve(ctx context.Context, actor User, id int64, d Decision) (Announcement, error) {
	return s.decide(ctx, actor, id, d, true)
}

// Reject sends a submitted announcement back to its author with a comment.
func (s *Service) Reject(ctx context.Context, actor User, id int64, d Decision) (Announcement, error) {
	return s.decide(ctx, actor, id, d, false)
}

func (s *Service) decide(ctx context.Context, actor User, id int64, d Decision, approve bool) (Announcement, error) {
	action := map[bool]string{true: "approve", false: "reject"}[approve]
	if !actor.Is(Reviewer, Admin) {
		return Announcement{}, forbidden("只有审核人或管理员可以审核公告", "user %s (%s) may not %s", actor.Name, actor.Role, action)
	}
	d.Comment = strings.TrimSpace(d.Comment)
	switch {
	case approve && d.Revision <= 0:
		return Announcement{}, invalid("revision", "请注明审核的是第几版（revision）", errors.New("no revision"))
	case !approve && d.Comment == "":
		return Announcement{}, invalid("comment", "驳回时须填写意见，说明需要修改什么", errors.New("rejection without comment"))
	case utf8.RuneCountInString(d.Comment) > maxCommentRunes:
		return Announcement{}, invalid("comment", fmt.Sprintf("审核意见不能超过 %d 个字", maxCommentRunes), errors.New("comment too long"))
	}
	var out Announcement
	err := s.change(ctx, action+" announcement", func(tx *sql.Tx) error {
		a, err := load(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Author == actor.Name {
			return forbidden("不能审核自己撰写的公告：谁公开谁审核，须由他人审核", "user %s may not %s their own announcement %d", actor.Name, action, id)
		}
		if d.Revision != 0 && d.Revision != a.Revision {
			return conflict(fmt.Sprintf("公告在审核期间已被修改：您审核的是第 %d 版，现为第 %d 版，请重新审核", d.Revision, a.Revision),
				fmt.Errorf("announcement %d is at revision %d, not %d", id, a.Revision, d.Revision))
		}
		if a.State != Submitted {
			return conflict(fmt.Sprintf("公告当前状态为「%s」，只有待审核的公告可以审核", a.State.Name()), fmt.Errorf("announcement %d is %s", id, a.State))
		}
		before, err := snapshot(a)
		if err != nil {
			return err
		}
		if err := acknowledge(a.Flags, d.Acknowledge, approve); err != nil {
			return err
		}
		a.State, a.Reviewer, a.ReviewComment, a.DecidedAt = Rejected, actor.Name, d.Comment, s.clock()
		if approve {
			a.State = Approved
		}
		if err := save(ctx, tx, &a); err != nil {
			return err
		}
		return s.record(ctx, tx, actor.Name, action, id, before, &out)
	})
	return out, err
}

// acknowledge marks the flags the reviewer named; approval needs every one of them.
func acknowledge(flags []Flag, ids []string, all bool) error {
	var unknown, missing []string
	for _, id := range ids {
		if !slices.ContainsFunc(flags, func(f Flag) bool { return f.ID == id }) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return invalid("acknowledge", "没有这些保密审查提示："+strings.Join(unknown, "、"), fmt.Errorf("unknown flags %v", unknown))
	}
	for i := range flags {
		flags[i].Acknowledged = slices.Contains(ids, flags[i].ID)
		if !flags[i].Acknowledged {
			missing = append(missing, flags[i].ID)
		}
	}
	if all && len(missing) > 0 {
		return &Error{Kind: Unacknowledged, Flags: missing,
			Message: "以下保密审查提示尚未确认：" + strings.Join(missing, "、") + "，请逐条核实后确认",
			Err:     fmt.Errorf("flags not acknowledged: %v", missing)}
	}
	return nil
}
