// Package observation is lookfor's core domain: rubrics and their versions, observation records
// and their validation, roles, principals and scopes, districts and their settings, audit entries
// and the domain's errors. The progress engine (package progress) builds on it; observation
// imports the standard library only, never progress, the transport or generated code.
package observation

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error. The server maps each kind to one gRPC code in one place.
type Kind int

const (
	KindInvalid            Kind = iota + 1 // the caller sent something malformed
	KindNotFound                           // absent, or outside the caller's scope
	KindPermissionDenied                   // in scope, but the caller's role may not do this
	KindFailedPrecondition                 // valid request, wrong state (e.g. editing a published rubric)
	KindAlreadyExists                      // a create collided with an existing resource
	KindUnauthenticated                    // no or bad credentials
	KindResourceExhausted                  // a configured limit was exceeded
	KindUnavailable                        // an infrastructure dependency failed; safe to retry
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindPermissionDenied:
		return "permission_denied"
	case KindFailedPrecondition:
		return "failed_precondition"
	case KindAlreadyExists:
		return "already_exists"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindResourceExhausted:
		return "resource_exhausted"
	case KindUnavailable:
		return "unavailable"
	}
	return "unknown"
}

// Error is the domain's error type. Reason is a stable machine-readable code (e.g.
// "RUBRIC_PUBLISHED"); Field names the offending input field, when there is one.
type Error struct {
	Kind    Kind
	Reason  string
	Field   string
	Message string
	Err     error // optional cause
	// District names the district whose resource a refused request reached, when the domain
	// knows it (see In). The server records the refusal in that district's audit log; it is
	// never shown to the caller.
	District string
}

// In notes that the refused resource belongs to district d, for the audit log, and returns e.
func (e *Error) In(d string) *Error {
	e.District = d
	return e
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, ErrNotFound) and friends match on kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Reason == "" && t.Field == "" && t.Message == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is checks by kind.
var (
	ErrInvalid            = &Error{Kind: KindInvalid}
	ErrNotFound           = &Error{Kind: KindNotFound}
	ErrPermissionDenied   = &Error{Kind: KindPermissionDenied}
	ErrFailedPrecondition = &Error{Kind: KindFailedPrecondition}
	ErrAlreadyExists      = &Error{Kind: KindAlreadyExists}
	ErrUnauthenticated    = &Error{Kind: KindUnauthenticated}
	ErrResourceExhausted  = &Error{Kind: KindResourceExhausted}
	ErrUnavailable        = &Error{Kind: KindUnavailable}
)

// Invalid reports a bad input field.
func Invalid(field, reason, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a resource that does not exist or that the caller may not know exists.
func NotFound(what, id string) *Error {
	return &Error{Kind: KindNotFound, Reason: "NOT_FOUND", Message: fmt.Sprintf("%s %q not found", what, id)}
}

// Denied reports an action the caller's role does not allow on a resource in its scope.
func Denied(format string, args ...any) *Error {
	return &Error{Kind: KindPermissionDenied, Reason: "PERMISSION_DENIED", Message: fmt.Sprintf(format, args...)}
}

// Precondition reports a valid request that the resource's state forbids.
func Precondition(reason, format string, args ...any) *Error {
	return &Error{Kind: KindFailedPrecondition, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps an infrastructure failure.
func Unavailable(err error, format string, args ...any) *Error {
	return &Error{Kind: KindUnavailable, Reason: "UNAVAILABLE", Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of a domain error, or 0 for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
func itoa(n int) string     { return fmt.Sprint(n) }
