package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Create saves a new draft, revision 1, written by actor.
func (s *Service) Create(ctx context.Context, actor User, in Input) (Announcement, error) {
	if !actor.Is(Editor, Reviewer, Admin) {
		return Announcement{}, forbidden("无权撰写公告", "user %s (%s) may not write announcements", actor.Name, actor.Role)
	}
	now := s.clock()
	a := Announcement{Author: actor.Name, Revision: 1, State: Draft, CreatedAt: now, UpdatedAt: now}
	if err := s.apply(&a, in); err != nil {
		return Announcement{}, err
	}
	if a.ValidFrom.IsZero() {
		a.ValidFrom = now
	}
	if a.ValidUntil.IsZero() {
		a.ValidUntil = a.ValidFrom.Add(DefaultValidFor)
	}
	if err := s.check(ctx, &a); err != nil {
		return Announcement{}, err
	}
	var out Announcement
	err := s.change(ctx, "create announcement", func(tx *sql.Tx) error {
		if err := save(ctx, tx, &a); err != nil {
			return err
		}
		return s.record(ctx, tx, actor.Name, "create", a.ID, nil, &out)
	})
	return out, err
}

// Edit changes the fields given, by the author or an admin. Every edit is a new revision and
// puts the announcement back to draft: a submitted, rejected or approved one must be submitted
// and reviewed again. Scheduled and done announcements are no longer edited.
func (s *Service) Edit(ctx context.Context, actor User, id int64, in Input) (Announcement, error) {
	var out Announcement
	err := s.change(ctx, "edit announcement", func(tx *sql.Tx) error {
		a, err := load(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Author != actor.Name && !actor.Is(Admin) {
			return forbidden("只有撰稿人或管理员可以修改公告", "user %s may not edit announcement %d by %s", actor.Name, id, a.Author)
		}
		if a.State == Scheduled || a.State == Done {
			return conflict(fmt.Sprintf("公告%s，不能再修改", a.State.Name()), fmt.Errorf("announcement %d is %s", id, a.State))
		}
		if in.Revision != 0 && in.Revision != a.Revision {
			return conflict(fmt.Sprintf("公告已被他人修改（现为第 %d 版），请刷新后再改", a.Revision),
				fmt.Errorf("announcement %d is at revision %d, edit started from %d", id, a.Revision, in.Revision))
		}
		before, err := snapshot(a)
		if err != nil {
			return err
		}
		if err := s.apply(&a, in); err != nil {
			return err
		}
		if err := s.check(ctx, &a); err != nil {
			return err
		}
		a.Revision++
		a.State, a.Flags, a.Reviewer, a.ReviewComment = Draft, nil, "", ""
		a.SubmittedAt, a.DecidedAt, a.UpdatedAt = time.Time{}, time.Time{}, s.clock()
		if err := save(ctx, tx, &a); err != nil {
			return err
		}
		return s.record(ctx, tx, actor.Name, "edit", id, before, &out)
	})
	return out, err
}

// Submit sends a draft for review, by the author or an admin, and runs the secrecy check on
// its title and text; the flags are kept for the reviewer.
func (s *Service) Submit(ctx context.Context, actor User, id int64) (Announcement, error) {
	var out Announcement
	err := s.change(ctx, "submit announcement", func(tx *sql.Tx) error {
		a, err := load(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Author != actor.Name && !actor.Is(Admin) {
			return forbidden("只有撰稿人或管理员可以提交公告", "user %s may not submit announcement %d by %s", actor.Name, id, a.Author)
		}
		switch a.State {
		case Draft:
		case Rejected:
			return conflict("已驳回的公告须修改后再提交", fmt.Errorf("announcement %d is rejected: edit it first", id))
		default:
			return conflict(fmt.Sprintf("公告当前状态为「%s」，只有草稿可以提交", a.State.Name()), fmt.Errorf("announcement %d is %s", id, a.State))
		}
		before, err := snapshot(a)
		if err != nil {
			return err
		}
		if err := s.setTargets(&a, a.Targets); err != nil { // the inventory may have changed since
			return err
		}
		if err := s.check(ctx, &a); err != nil {
			return err
		}
		now := s.clock()
		a.State, a.Flags, a.SubmittedAt, a.UpdatedAt = Submitted, s.secrecy(a), now, now
		if err := save(ctx, tx, &a); err != nil {
			return err
		}
		return s.record(ctx, tx, actor.Name, "submit", id, before, &out)
	})
	return out, err
}

// secrecy checks the title and the text, numbering the flags across both.
func (s *Service) secrecy(a Announcement) []Flag {
	flags := Check(a.Title, s.terms)
	for i := range flags {
		flags[i].Field = "title"
	}
	text := Check(a.Text, s.terms)
	for i := range text {
		text[i].Field = "text"
	}
	flags = append(flags, text...)
	number(flags, 1)
	return flags
}

// record reloads the announcement after a change, writes the audit entry with the before and
// after, and hands the result back through out.
func (s *Service) record(ctx context.Context, tx *sql.Tx, actor, action string, id int64, before json.RawMessage, out *Announcement) error {
	after, err := load(ctx, tx, id)
	if err != nil {
		return err
	}
	var b any
	if before != nil {
		b = before
	}
	if err := s.audit(ctx, tx, actor, action, announcementObject(id), b, after); err != nil {
		return err
	}
	s.log.Info("announcement "+action, "announcement", id, "actor", actor, "revision", after.Revision, "state", after.State)
	*out = after
	return nil
}

// snapshot is an announcement as the audit log keeps it, taken before it changes.
func snapshot(a Announcement) (json.RawMessage, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("announcement %d: %w", a.ID, err)
	}
	return b, nil
}

// clock is now at the store's precision.
func (s *Service) clock() time.Time { return s.now().Truncate(time.Millisecond) }
