package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
)

// Hostile input is refused in layers, each naming the field and the reason in lookfor's words:
//
//   - the HTTP edge (checkEdge, a gateway middleware that knows the route's path parameters):
//     path segments, query names and values, and forwarded headers;
//   - the gateway's JSON decoding (decodeBody in json_body.go): malformed JSON, trailing data,
//     nesting, wrong types, out-of-range numbers and unknown fields;
//   - the gRPC chain (checkText, validate): strings with NUL or invalid UTF-8 anywhere in a
//     request message, and the protovalidate rules of the .proto files — for REST and direct
//     gRPC callers alike;
//   - storage (store.classify): whatever PostgreSQL still refuses as data becomes invalid
//     argument with lookfor's own message.

// Reasons for malformed input (google.rpc.ErrorInfo).
const (
	reasonInvalidText  = observation.ReasonInvalidUTF8 // not UTF-8, a NUL, or a control character
	reasonInvalidJSON  = "INVALID_JSON"                // the body is not one JSON object
	reasonTooDeep      = "TOO_DEEP"                    // the body nests deeper than maxJSONDepth
	reasonTrailingData = "TRAILING_DATA"               // bytes after the body's JSON object
	reasonUnknownField = "UNKNOWN_FIELD"               // a field the request does not have
	reasonWrongType    = "WRONG_TYPE"                  // a JSON value of the wrong type for its field
	reasonOutOfRange   = "OUT_OF_RANGE"                // a number outside what its field holds
	reasonInvalidValue = "INVALID_VALUE"               // a value its field cannot take
)

// textProblem says why s is not acceptable text, or "".
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL character, which cannot be stored"
	}
	return ""
}

// identifierProblem is textProblem plus control characters, which no path segment, query value
// or identifier a client sends may contain.
func identifierProblem(s string) string {
	if p := textProblem(s); p != "" {
		return p
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

// headerProblem says why a header that is forwarded as gRPC metadata cannot be: metadata values
// are printable ASCII.
func headerProblem(v string) string {
	if p := identifierProblem(v); p != "" {
		return p
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "may contain only printable ASCII characters"
		}
	}
	return ""
}

// edgeProblem checks what the gateway would copy into a gRPC request before it does: the route's
// path parameters, the query and the headers lookfor reads. Other headers the gateway would
// forward as metadata are dropped when gRPC could not carry them.
func edgeProblem(r *http.Request, pathParams map[string]string) *observation.Error {
	names := make([]string, 0, len(pathParams))
	for name := range pathParams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if p := identifierProblem(pathParams[name]); p != "" {
			return observation.Invalid(name, reasonInvalidText, "the path segment %s", p)
		}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return observation.Invalid("query", reasonInvalidText, "the query string has a malformed %%-escape")
	}
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if p := identifierProblem(k); p != "" {
			return observation.Invalid("query", reasonInvalidText, "a query parameter name %s", p)
		}
		for _, v := range query[k] {
			if p := identifierProblem(v); p != "" {
				return observation.Invalid(k, reasonInvalidText, "the query parameter %s", p)
			}
		}
	}
	hdrs := make([]string, 0, len(r.Header))
	for h := range r.Header {
		hdrs = append(hdrs, h)
	}
	sort.Strings(hdrs)
	for _, h := range hdrs {
		if _, forwarded := incomingHeader(h); !forwarded {
			continue
		}
		for _, v := range r.Header[h] {
			if p := headerProblem(v); p != "" {
				if !forwardedHeaders[h] && h != "Authorization" {
					// A header lookfor does not read (User-Agent, Referer, …) is not forwarded
					// rather than failing the call.
					r.Header.Del(h)
					break
				}
				return observation.Invalid(h, reasonInvalidText, "the header %s", p)
			}
		}
	}
	return nil
}

// perItemFields are request fields whose items the handler judges one by one, answering a bad
// item in its own result instead of failing the call: a push's changes (one unstorable change
// must not block a tablet's outbox) and a reconcile's records.
var perItemFields = map[string]protoreflect.Name{
	pb.SyncService_Push_FullMethodName:      "changes",
	pb.SyncService_Reconcile_FullMethodName: "records",
}

// checkText refuses request messages with a string (or map key) that is not valid UTF-8 or
// contains NUL, naming the field path; PostgreSQL can store neither, and a NUL in an id would
// otherwise reach it.
func checkText() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if p := badTextPath(m.ProtoReflect()); p != "" { // textCodec repaired it: refuse the whole call
				return nil, fail(ctx, observation.Invalid(p, reasonInvalidText, "the text is not valid UTF-8"))
			}
			if err := textInMessage(m.ProtoReflect(), "", perItemFields[info.FullMethod]); err != nil {
				return nil, fail(ctx, err)
			}
		}
		return handler(ctx, req)
	}
}

// textInMessage checks every string of m, except the top-level field skip.
func textInMessage(m protoreflect.Message, path string, skip protoreflect.Name) *observation.Error {
	var bad *observation.Error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if skip != "" && fd.Name() == skip {
			return true
		}
		p := joinPath(path, string(fd.Name()))
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				kp := p + "[" + strconv.Quote(k.String()) + "]"
				if fd.MapKey().Kind() == protoreflect.StringKind {
					if prob := textProblem(k.String()); prob != "" {
						bad = observation.Invalid(p, reasonInvalidText, "a key %s", prob)
						return false
					}
				}
				bad = textInValue(fd.MapValue(), mv, kp)
				return bad == nil
			})
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && bad == nil; i++ {
				bad = textInValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", p, i))
			}
		default:
			bad = textInValue(fd, v, p)
		}
		return bad == nil
	})
	return bad
}

func textInValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) *observation.Error {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if p := textProblem(v.String()); p != "" {
			return observation.Invalid(path, reasonInvalidText, "the text %s", p)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return textInMessage(v.Message(), path, "")
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// validate applies the protovalidate rules of the .proto files and answers a violation as any
// other field error: INVALID_ARGUMENT with a BadRequest naming the field.
func validate(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := checkRules(ctx, v, m); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// validateStream is validate for streaming calls: each message the handler receives is checked
// as it arrives, with the same field error.
func validateStream(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		return checkRules(s.Context(), s.v, pm)
	}
	return nil
}

// checkRules checks m against its .proto rules: the first violation becomes an Invalid error
// naming the field (INVALID_VALUE), counting the others.
func checkRules(ctx context.Context, v protovalidate.Validator, m proto.Message) error {
	err := v.Validate(m)
	if err == nil {
		return nil
	}
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) == 0 {
		return fail(ctx, err) // a rule that cannot be evaluated is our defect: INTERNAL, logged
	}
	first := ve.Violations[0].Proto
	field := protovalidate.FieldPathString(first.GetField())
	if field == "" {
		field = "request"
	}
	msg := first.GetMessage()
	if msg == "" {
		msg = "is not allowed"
	}
	if n := len(ve.Violations); n > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", n-1)
	}
	return fail(ctx, observation.Invalid(field, reasonInvalidValue, "%s", msg))
}
