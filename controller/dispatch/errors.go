package dispatch

import "fmt"

// InputError is a request that cannot be sent as it is: the caller's fault, never retried.
type InputError struct {
	Field   string // which part of the request: title, targets, audio, valid_for
	Message string // for township staff, in Chinese
	Err     error  // the detail, in English
}

func (e *InputError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return e.Field + ": invalid"
}

func (e *InputError) Unwrap() error { return e.Err }

func inputErr(field, message string, err error) *InputError {
	return &InputError{Field: field, Message: message, Err: err}
}
