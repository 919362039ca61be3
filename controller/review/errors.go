package review

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what went wrong with a request, so the API can answer with the right status.
type Kind int

const (
	Invalid         Kind = iota + 1 // bad input: 400, names the field
	Unauthorized                    // not logged in, or the session expired: 401
	Forbidden                       // logged in, but not allowed to do this: 403
	NotFound                        // 404
	Conflict                        // the announcement is not in a state for this, or changed since: 409
	Unacknowledged                  // secrecy flags not acknowledged: 422
	Locked                          // too many failed logins for this name: 423, until RetryAt
	TooManyAttempts                 // too many failed logins from this address: 429, until RetryAt
)

// Error is a request the service refuses: the caller's fault, never retried.
type Error struct {
	Kind    Kind
	Field   string    // which part of the request, for Invalid
	Message string    // for township staff, in Chinese
	Flags   []string  // unacknowledged flag ids, for Unacknowledged
	RetryAt time.Time // when a Locked or TooManyAttempts refusal ends
	Err     error     // the detail, in English
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors the controller's integration tells apart with errors.Is.
var (
	ErrNotApproved     = errors.New("announcement is not approved")
	ErrOutsideValidity = errors.New("announcement is outside its validity window")
	ErrNotFound        = errors.New("announcement not found")
)

func invalid(field, message string, err error) *Error {
	return &Error{Kind: Invalid, Field: field, Message: message, Err: err}
}

func forbidden(message string, format string, args ...any) *Error {
	return &Error{Kind: Forbidden, Message: message, Err: fmt.Errorf(format, args...)}
}

func conflict(message string, err error) *Error {
	return &Error{Kind: Conflict, Message: message, Err: err}
}

func notFound(id int64) *Error {
	return &Error{Kind: NotFound, Message: "找不到该公告", Err: fmt.Errorf("announcement %d: %w", id, ErrNotFound)}
}
