package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Emergency templates are approved announcements of the emergency domain (应急管理): their text
// has been reviewed, so any staff member may send one as an emergency within their own scope.
// Free text or audio in an emergency has had no review; the API lets only reviewers and admins
// send it (谁公开谁审核: whoever sends it answers for it).

// EmergencyDomain is the disclosure domain whose approved announcements are emergency templates.
const EmergencyDomain = "emergency"

// EmergencyTemplate finds an approved emergency template by key or id. It refuses an unknown
// one (Invalid, field template), one of another domain (Invalid), and one not approved or
// outside its validity window (Conflict, wrapping ErrNotApproved or ErrOutsideValidity).
func (s *Service) EmergencyTemplate(ctx context.Context, ref string) (Announcement, error) {
	id, err := s.Lookup(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return Announcement{}, invalid("template", "找不到应急模板："+ref, err)
	}
	if err != nil {
		return Announcement{}, err
	}
	a, err := load(ctx, s.db, id)
	var re *Error
	if errors.As(err, &re) && re.Kind == NotFound {
		return Announcement{}, invalid("template", "找不到应急模板："+ref, err)
	}
	if err != nil {
		return Announcement{}, err
	}
	if a.Domain != EmergencyDomain {
		return Announcement{}, invalid("template", fmt.Sprintf("公告“%s”不属于应急管理领域，不能作为应急模板", a.Title),
			fmt.Errorf("announcement %d is in domain %s, not %s", a.ID, a.Domain, EmergencyDomain))
	}
	return s.Approved(ctx, a.ID)
}

// Record writes one entry in the audit log on its own: the controller's record of actions that
// are not announcement changes (emergencies, cancels, shouts, refusals). object names what was
// acted on, such as broadcast:ID.
func (s *Service) Record(ctx context.Context, actor, action, object string, details any) error {
	return s.change(ctx, "audit "+action, func(tx *sql.Tx) error {
		return s.audit(ctx, tx, actor, action, object, nil, details)
	})
}
