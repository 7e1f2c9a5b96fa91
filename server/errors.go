package server

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lookfor-edu/lookfor/observation"
)

// errorDomain names lookfor in google.rpc.ErrorInfo details.
const errorDomain = "lookfor.edu"

// toStatus is the one place that maps domain errors to gRPC status codes (and through the
// gateway to HTTP statuses). Field errors carry a BadRequest detail naming the field; every
// domain error carries an ErrorInfo with its stable reason code. Errors that are not domain
// errors are internal: their text is logged by the caller, never shown.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		if st.Code() == codes.Internal || st.Code() == codes.Unknown {
			return status.Error(codes.Internal, "internal error") // a library's words, never shown
		}
		return err // already a status (e.g. from the transport)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the request was canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the request ran out of time")
	}
	var de *observation.Error
	if !errors.As(err, &de) {
		return status.Error(codes.Internal, "internal error")
	}
	code := codes.Internal
	switch de.Kind {
	case observation.KindInvalid:
		code = codes.InvalidArgument
	case observation.KindNotFound:
		code = codes.NotFound
	case observation.KindPermissionDenied:
		code = codes.PermissionDenied
	case observation.KindFailedPrecondition:
		code = codes.FailedPrecondition
	case observation.KindAlreadyExists:
		code = codes.AlreadyExists
	case observation.KindUnauthenticated:
		code = codes.Unauthenticated
	case observation.KindResourceExhausted:
		code = codes.ResourceExhausted
	case observation.KindUnavailable:
		code = codes.Unavailable
	}
	msg := de.Message
	if de.Field != "" {
		msg = de.Field + ": " + msg
	}
	if de.Kind == observation.KindUnavailable {
		msg = "a dependency is unavailable (" + de.Message + "); retry with backoff"
	}
	st := status.New(code, msg)
	details := []*errdetails.ErrorInfo{{Reason: de.Reason, Domain: errorDomain}}
	var withDetails *status.Status
	var derr error
	if de.Field != "" {
		withDetails, derr = st.WithDetails(details[0], &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: de.Field, Description: de.Message, Reason: de.Reason}},
		})
	} else if de.Reason != "" {
		withDetails, derr = st.WithDetails(details[0])
	}
	if derr == nil && withDetails != nil {
		st = withDetails
	}
	return st.Err()
}
