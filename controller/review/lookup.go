package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,63}$`)

// Lookup finds an announcement by its numeric id or its key, as a schedule names it.
func (s *Service) Lookup(ctx context.Context, ref string) (int64, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return id, nil
	}
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM announcements WHERE ann_key=?`, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: no announcement has the key %q", ErrNotFound, ref)
	}
	if err != nil {
		return 0, fmt.Errorf("look up announcement %q: %w", ref, err)
	}
	return id, nil
}

// keyTaken turns the store's refusal of a second announcement with the same key into a conflict
// staff can act on.
func keyTaken(key string, err error) error {
	if key != "" && strings.Contains(err.Error(), "announcements.ann_key") {
		return conflict("公告标识 "+key+" 已被其他公告使用", err)
	}
	return err
}
