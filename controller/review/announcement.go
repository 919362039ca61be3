package review

import (
	"time"
)

// State is where an announcement is on its road to the loudspeakers.
type State string

const (
	Draft     State = "draft"     // 草稿
	Submitted State = "submitted" // 待审核
	Approved  State = "approved"  // 已通过
	Rejected  State = "rejected"  // 已驳回
	Scheduled State = "scheduled" // 已排期
	Done      State = "done"      // 已播出
)

// Name is the state in Chinese.
func (s State) Name() string {
	switch s {
	case Draft:
		return "草稿"
	case Submitted:
		return "待审核"
	case Approved:
		return "已通过"
	case Rejected:
		return "已驳回"
	case Scheduled:
		return "已排期"
	case Done:
		return "已播出"
	}
	return string(s)
}

// Limits on what staff may write.
const (
	MaxTitleRunes   = 100
	MaxTextRunes    = 2000
	DefaultValidFor = 7 * 24 * time.Hour // when no valid_until is given
)

// Announcement is a 公告: what is said (text for speech, or a program already uploaded), where
// (target addresses), when it may go out (the validity window), and its review.
type Announcement struct {
	ID            int64     `json:"id"`
	Key           string    `json:"key,omitempty"` // stable name schedule files use, e.g. caoxi-morning-notice
	Title         string    `json:"title"`
	Category      Category  `json:"category"`
	CategoryName  string    `json:"category_name"`
	Domain        string    `json:"domain"`
	DomainName    string    `json:"domain_name"`
	Text          string    `json:"text,omitempty"`
	ProgramID     string    `json:"program_id,omitempty"`
	Voice         string    `json:"voice,omitempty"`
	Targets       string    `json:"targets"`
	Villages      []string  `json:"villages"`
	ValidFrom     time.Time `json:"valid_from"`
	ValidUntil    time.Time `json:"valid_until"`
	Author        string    `json:"author"`
	Revision      int       `json:"revision"`
	State         State     `json:"state"`
	StateName     string    `json:"state_name"`
	Flags         []Flag    `json:"flags"` // from the last submission
	Reviewer      string    `json:"reviewer,omitempty"`
	ReviewComment string    `json:"review_comment,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	SubmittedAt   time.Time `json:"submitted_at,omitzero"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	ScheduledAt   time.Time `json:"scheduled_at,omitzero"`
	DoneAt        time.Time `json:"done_at,omitzero"`
	Broadcasts    []string  `json:"broadcasts,omitempty"` // ids of the broadcasts that carried it
}

// names fills in the Chinese names of the category, domain and state.
func (a *Announcement) names() {
	a.CategoryName, a.DomainName, a.StateName = a.Category.Name(), DomainName(a.Domain), a.State.Name()
}

// Input is an announcement as staff write it. On an edit only the fields given change.
type Input struct {
	Key        *string    `json:"key"`
	Title      *string    `json:"title"`
	Category   *string    `json:"category"` // decision ... or 决策公开 ...
	Domain     *string    `json:"domain"`   // finance ... or 财政资金 ...
	Text       *string    `json:"text"`
	ProgramID  *string    `json:"program_id"`
	Voice      *string    `json:"voice"`
	Targets    *string    `json:"targets"` // comma-separated tier addresses
	ValidFrom  *time.Time `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
	// Revision, on an edit, is the revision the editor started from: the edit is refused if
	// someone changed the announcement since. Zero skips the check.
	Revision int `json:"revision,omitempty"`
}
