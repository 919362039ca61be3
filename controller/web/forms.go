package web

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"
)

// form is a posted form being checked: the values to show again and a message per field.
type form struct {
	Values  map[string]string
	Checked map[string]bool // target addresses ticked
	Days    map[string]bool // weekdays ticked (0 Sunday ... 6), of a schedule
	Errors  map[string]string
}

func newForm() *form {
	return &form{Values: map[string]string{}, Checked: map[string]bool{}, Days: map[string]bool{}, Errors: map[string]string{}}
}

// readForm keeps the posted fields named, and the ticked targets.
func readForm(r *http.Request, fields ...string) *form {
	f := newForm()
	for _, k := range fields {
		f.Values[k] = strings.TrimSpace(r.FormValue(k))
	}
	for _, t := range r.Form["targets"] {
		f.Checked[t] = true
	}
	return f
}

// Targets is the ticked targets as the API takes them, comma-separated (overlaps are the
// dispatcher's to reduce).
func (f *form) Targets() string {
	var out []string
	for a := range f.Checked {
		out = append(out, a)
	}
	return strings.Join(sortedAddrs(out), ",")
}

// fail notes a message for a field (the first one stays).
func (f *form) fail(field, msg string) {
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

// apiFailed maps the API's error to its field, or to the form as a whole.
func (f *form) apiFailed(a answer, known ...string) {
	e := a.Err()
	for _, k := range known {
		if e.Field == k {
			f.fail(k, e.Error)
			return
		}
	}
	f.fail("form", e.Error)
}

// localTime reads a datetime-local field as township time; empty is the zero time.
func (f *form) localTime(field string) time.Time {
	v := f.Values[field]
	if v == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", v, shanghai)
	if err != nil {
		f.fail(field, "时间格式错误，应如 2026-03-01 08:00")
	}
	return t
}

// sortedAddrs orders addresses town, village, group, terminal, then by code.
func sortedAddrs(as []string) []string {
	rank := func(a string) int {
		for i, p := range []string{"town:", "village:", "group:", "terminal:"} {
			if strings.HasPrefix(a, p) {
				return i
			}
		}
		return 9
	}
	slices.SortFunc(as, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b)) })
	return as
}
