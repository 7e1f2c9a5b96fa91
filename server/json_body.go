package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lookfor-edu/lookfor/observation"
)

// maxJSONDepth is the deepest nesting a request body may have; lookfor's deepest request nests
// six levels.
const maxJSONDepth = 32

// gatewayError carries a field error out of the gateway's decoding hooks. The gateway turns any
// decoding error into INVALID_ARGUMENT with the error's text, so the text encodes the field error
// and errorHandler decodes it back (fieldErrorOf) into a status with its BadRequest detail.
type gatewayError struct{ e *observation.Error }

const gatewayErrorMark = "\x00lookfor-field-error\x00"

func (g *gatewayError) Error() string {
	b, _ := json.Marshal([3]string{g.e.Field, g.e.Reason, g.e.Message})
	return gatewayErrorMark + string(b)
}

func invalidInput(field, reason, format string, args ...any) error {
	return &gatewayError{observation.Invalid(field, reason, format, args...)}
}

var (
	gatewayTypeMismatch = regexp.MustCompile(`^type mismatch, parameter: ([^,]+), error: (.*)$`)
	gatewayMissing      = regexp.MustCompile(`^missing parameter (\S+)$`)
)

// fieldErrorOf recognises the INVALID_ARGUMENT errors the gateway makes itself (body decoding,
// query parsing, path parameters) and returns them as lookfor field errors; nil for any other.
func fieldErrorOf(err error) *observation.Error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument || len(st.Details()) > 0 {
		return nil
	}
	msg := st.Message()
	if rest, ok := strings.CutPrefix(msg, gatewayErrorMark); ok {
		var f [3]string
		if json.Unmarshal([]byte(rest), &f) == nil {
			return observation.Invalid(f[0], f[1], "%s", f[2])
		}
	}
	if m := gatewayTypeMismatch.FindStringSubmatch(msg); m != nil {
		if strings.Contains(m[2], "out of range") {
			return observation.Invalid(m[1], reasonOutOfRange, "the path parameter is out of range")
		}
		return observation.Invalid(m[1], reasonWrongType, "the path parameter is not a valid value of its type")
	}
	if m := gatewayMissing.FindStringSubmatch(msg); m != nil {
		return observation.Invalid(m[1], observation.ReasonRequired, "the path parameter is required")
	}
	if strings.HasPrefix(msg, "invalid URL escape") || strings.HasPrefix(msg, "invalid semicolon separator") {
		return observation.Invalid("query", reasonInvalidText, "the query string is malformed")
	}
	return nil
}

// jsonBody is the gateway's JSON marshaler with a strict decoder (decodeBody).
type jsonBody struct{ runtime.Marshaler }

// Delimiter is what the gateway writes after each message of a streamed response: nothing. The
// one streamed REST response, a district export, is a stream of google.api.HttpBody chunks of one
// zip file, which a newline after each chunk would corrupt.
func (jsonBody) Delimiter() []byte { return nil }

func (m jsonBody) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error { return decodeBody(r, v) })
}

// decodeBody reads one request body into v, a proto message: exactly one JSON object, valid
// UTF-8, nested at most maxJSONDepth deep, every field known and of its type. An empty body is
// io.EOF (the gateway's "no body"). Errors name the field in lookfor's words.
func decodeBody(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if isTimeout(err) {
		return invalidInput("body", reasonBodyTimeout, "the request body did not arrive in time")
	}
	if err != nil {
		return err // a body over the limit: errorHandler answers 413
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return io.EOF
	}
	msg, ok := v.(proto.Message)
	if rv := reflect.ValueOf(v); !ok && rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
		// A body bound to one field of the request (body: "site") arrives as **T.
		if rv.Elem().IsNil() {
			rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
		}
		msg, ok = rv.Elem().Interface().(proto.Message)
	}
	if !ok {
		return fmt.Errorf("decoding a request body into %T, which is not a proto message", v)
	}
	tree, err := parseJSON(data)
	if err != nil {
		return err
	}
	if uerr := (protojson.UnmarshalOptions{}).Unmarshal(data, msg); uerr != nil {
		if fe := checkObject(tree, msg.ProtoReflect().Descriptor(), ""); fe != nil {
			return &gatewayError{fe}
		}
		return invalidInput("body", reasonInvalidJSON, "the request body does not fit this call")
	}
	return nil
}

// jnode is a parsed JSON value that keeps the order of object keys.
type jnode struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys  []string
	vals  []*jnode // object values (by keys) or array items
	str   string
	num   json.Number
	bad8  bool // the string (or, for objects, a key) held invalid UTF-8
	where string
}

// parseJSON parses exactly one JSON object.
func parseJSON(data []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tree, err := parseValue(dec, "", 0)
	if err != nil {
		if _, ok := err.(*gatewayError); ok {
			return nil, err
		}
		return nil, invalidInput("body", reasonInvalidJSON, "the request body is not valid JSON (near byte %d)", dec.InputOffset())
	}
	if tree.kind != 'o' {
		return nil, invalidInput("body", reasonWrongType, "the request body must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidInput("body", reasonTrailingData, "the request body has data after its JSON object (at byte %d)", dec.InputOffset())
	}
	if !utf8.Valid(data) {
		field := "body"
		if p := firstBadUTF8(tree, ""); p != "" {
			field = p
		}
		return nil, invalidInput(field, reasonInvalidText, "the text is not valid UTF-8")
	}
	return tree, nil
}

func parseValue(dec *json.Decoder, path string, depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, invalidInput(nonEmpty(path, "body"), reasonTooDeep, "the request body nests deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &jnode{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := parseValue(dec, joinPath(path, k), depth+1)
				if err != nil {
					return nil, err
				}
				n.keys, n.vals = append(n.keys, k), append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return n, nil
		case '[':
			n := &jnode{kind: 'a'}
			for i := 0; dec.More(); i++ {
				v, err := parseValue(dec, fmt.Sprintf("%s[%d]", path, i), depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return n, nil
		}
		return nil, errors.New("unexpected delimiter")
	case string:
		return &jnode{kind: 's', str: t, bad8: strings.ContainsRune(t, utf8.RuneError)}, nil
	case json.Number:
		return &jnode{kind: 'n', num: t}, nil
	case bool:
		if t {
			return &jnode{kind: 'b', str: "true"}, nil
		}
		return &jnode{kind: 'b', str: "false"}, nil
	case nil:
		return &jnode{kind: 'z'}, nil
	}
	return nil, errors.New("unexpected token")
}

// firstBadUTF8 finds the first string or key that encoding/json had to repair (U+FFFD).
func firstBadUTF8(n *jnode, path string) string {
	switch n.kind {
	case 's':
		if n.bad8 {
			return nonEmpty(path, "body")
		}
	case 'o':
		for i, k := range n.keys {
			p := joinPath(path, k)
			if strings.ContainsRune(k, utf8.RuneError) {
				return nonEmpty(path, "body")
			}
			if f := firstBadUTF8(n.vals[i], p); f != "" {
				return f
			}
		}
	case 'a':
		for i, v := range n.vals {
			if f := firstBadUTF8(v, fmt.Sprintf("%s[%d]", path, i)); f != "" {
				return f
			}
		}
	}
	return ""
}

func nonEmpty(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// checkObject finds the first field of a JSON object that does not fit message md, the way
// protojson reads it: proto or JSON field names, null for unset, numbers as JSON numbers or
// strings, enums by name or number, well-known types in their JSON forms.
func checkObject(n *jnode, md protoreflect.MessageDescriptor, path string) *observation.Error {
	oneofs := map[protoreflect.FullName]string{}
	for i, k := range n.keys {
		p := joinPath(path, k)
		if k == "" {
			p = joinPath(path, `""`)
		}
		fd := md.Fields().ByName(protoreflect.Name(k))
		if fd == nil {
			fd = md.Fields().ByJSONName(k)
		}
		if fd == nil {
			return observation.Invalid(p, reasonUnknownField, "there is no such field in this request")
		}
		v := n.vals[i]
		if v.kind == 'z' {
			continue
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if other, ok := oneofs[od.FullName()]; ok {
				return observation.Invalid(p, reasonInvalidValue, "only one of %s and %s may be set", other, k)
			}
			oneofs[od.FullName()] = k
		}
		var fe *observation.Error
		switch {
		case fd.IsMap():
			fe = checkMap(v, fd, p)
		case fd.IsList():
			if v.kind != 'a' {
				return observation.Invalid(p, reasonWrongType, "must be a JSON array")
			}
			for j, item := range v.vals {
				if fe = checkValue(fd, item, fmt.Sprintf("%s[%d]", p, j)); fe != nil {
					break
				}
			}
		default:
			fe = checkValue(fd, v, p)
		}
		if fe != nil {
			return fe
		}
	}
	return nil
}

func checkMap(v *jnode, fd protoreflect.FieldDescriptor, path string) *observation.Error {
	if v.kind != 'o' {
		return observation.Invalid(path, reasonWrongType, "must be a JSON object")
	}
	for i, k := range v.keys {
		kp := path + "[" + strconv.Quote(k) + "]"
		if fd.MapKey().Kind() != protoreflect.StringKind {
			if fe := checkValue(fd.MapKey(), &jnode{kind: 's', str: k}, kp); fe != nil {
				return fe
			}
		}
		if fe := checkValue(fd.MapValue(), v.vals[i], kp); fe != nil {
			return fe
		}
	}
	return nil
}

// integer bounds by kind.
var (
	minInt32, maxInt32   = big.NewInt(-1 << 31), big.NewInt(1<<31 - 1)
	maxUint32            = big.NewInt(1<<32 - 1)
	minInt64, maxInt64   = big.NewInt(-1 << 63), big.NewInt(1<<63 - 1)
	maxUint64            = new(big.Int).SetUint64(1<<64 - 1)
	zero                 = big.NewInt(0)
	durationPattern      = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,9})?s$`)
	wrapperValueField    = protoreflect.Name("value")
	permissiveWellKnowns = map[protoreflect.FullName]bool{
		"google.protobuf.Struct": true, "google.protobuf.Value": true, "google.protobuf.ListValue": true,
		"google.protobuf.Any": true, "google.protobuf.FieldMask": true, "google.protobuf.Empty": true,
	}
)

func checkValue(fd protoreflect.FieldDescriptor, v *jnode, path string) *observation.Error {
	if v.kind == 'z' {
		return nil
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if v.kind != 's' {
			return observation.Invalid(path, reasonWrongType, "must be a JSON string")
		}
	case protoreflect.BoolKind:
		if v.kind != 'b' {
			return observation.Invalid(path, reasonWrongType, "must be true or false")
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return checkInteger(v, path, minInt32, maxInt32)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return checkInteger(v, path, zero, maxUint32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return checkInteger(v, path, minInt64, maxInt64)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return checkInteger(v, path, zero, maxUint64)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		s := string(v.num)
		if v.kind == 's' {
			if v.str == "NaN" || v.str == "Infinity" || v.str == "-Infinity" {
				return nil
			}
			s = v.str
		} else if v.kind != 'n' {
			return observation.Invalid(path, reasonWrongType, "must be a number")
		}
		bits := 64
		if fd.Kind() == protoreflect.FloatKind {
			bits = 32
		}
		if _, err := strconv.ParseFloat(s, bits); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return observation.Invalid(path, reasonOutOfRange, "the number is out of range")
			}
			return observation.Invalid(path, reasonWrongType, "must be a number")
		}
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		if v.kind == 's' && values.ByName(protoreflect.Name(v.str)) != nil {
			return nil
		}
		if v.kind == 'n' || v.kind == 's' {
			if fe := checkInteger(v, path, minInt32, maxInt32); fe == nil {
				return nil
			}
		}
		names := make([]string, 0, values.Len())
		for i := 0; i < values.Len(); i++ {
			names = append(names, string(values.Get(i).Name()))
		}
		return observation.Invalid(path, reasonInvalidValue, "must be one of %s", strings.Join(names, ", "))
	case protoreflect.BytesKind:
		if v.kind != 's' {
			return observation.Invalid(path, reasonWrongType, "must be base64 text")
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if _, err := enc.DecodeString(v.str); err == nil {
				return nil
			}
		}
		return observation.Invalid(path, reasonWrongType, "must be base64 text")
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return checkMessage(fd.Message(), v, path)
	}
	return nil
}

func checkMessage(md protoreflect.MessageDescriptor, v *jnode, path string) *observation.Error {
	name := md.FullName()
	switch {
	case permissiveWellKnowns[name]:
		return nil
	case name == "google.protobuf.Timestamp":
		if v.kind != 's' {
			return observation.Invalid(path, reasonWrongType, "must be a date-time text such as 2026-10-01T10:00:00Z")
		}
		t, err := time.Parse(time.RFC3339Nano, v.str)
		if err != nil {
			return observation.Invalid(path, reasonWrongType, "must be a date-time text such as 2026-10-01T10:00:00Z")
		}
		if t.Year() < 1 || t.Year() > 9999 {
			return observation.Invalid(path, reasonOutOfRange, "the date-time is out of range")
		}
		return nil
	case name == "google.protobuf.Duration":
		if v.kind != 's' || !durationPattern.MatchString(v.str) {
			return observation.Invalid(path, reasonWrongType, "must be a duration text such as 1.5s")
		}
		return nil
	case strings.HasPrefix(string(name), "google.protobuf.") && strings.HasSuffix(string(name), "Value"):
		if fd := md.Fields().ByName(wrapperValueField); fd != nil {
			return checkValue(fd, v, path)
		}
		return nil
	}
	if v.kind != 'o' {
		return observation.Invalid(path, reasonWrongType, "must be a JSON object")
	}
	return checkObject(v, md, path)
}

func checkInteger(v *jnode, path string, lo, hi *big.Int) *observation.Error {
	s := string(v.num)
	switch v.kind {
	case 'n':
	case 's':
		s = strings.TrimSpace(v.str)
	default:
		return observation.Invalid(path, reasonWrongType, "must be a whole number")
	}
	// A binary float of fixed precision: "1e999999999" must not make a billion-digit integer.
	f, _, err := new(big.Float).SetPrec(256).Parse(s, 10)
	if err != nil || strings.ContainsAny(s, "xXpP_") {
		return observation.Invalid(path, reasonWrongType, "must be a whole number")
	}
	if !f.IsInf() && !f.IsInt() {
		return observation.Invalid(path, reasonWrongType, "must be a whole number, not a fraction")
	}
	if f.IsInf() {
		return observation.Invalid(path, reasonOutOfRange, "must be a whole number from %s to %s", lo, hi)
	}
	if n, _ := f.Int(nil); n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
		return observation.Invalid(path, reasonOutOfRange, "must be a whole number from %s to %s", lo, hi)
	}
	return nil
}

// queryParser is the gateway's query parser, with errors that name the parameter and say what it
// must be.
type queryParser struct{ runtime.DefaultQueryParser }

func (q *queryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	err := q.DefaultQueryParser.Parse(msg, values, filter)
	if err == nil {
		return nil
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	md := msg.ProtoReflect().Descriptor()
	for _, k := range keys {
		probe := msg.ProtoReflect().New().Interface()
		perr := q.DefaultQueryParser.Parse(probe, url.Values{k: values[k]}, filter)
		if perr == nil {
			continue
		}
		if len(values[k]) > 1 {
			return invalidInput(k, reasonInvalidValue, "the query parameter is given more than once")
		}
		if fd := fieldByPath(md, k); fd != nil && len(values[k]) == 1 {
			if fe := checkValue(fd, &jnode{kind: 's', str: values[k][0]}, k); fe != nil {
				return &gatewayError{fe}
			}
		}
		return invalidInput(k, reasonInvalidValue, "the query parameter's value is not valid for it")
	}
	return invalidInput("query", reasonInvalidValue, "the query names a field twice (by its two names) or sets two fields that exclude each other")
}

// fieldByPath resolves a dotted query parameter name ("period.kind") to its field.
func fieldByPath(md protoreflect.MessageDescriptor, path string) protoreflect.FieldDescriptor {
	var fd protoreflect.FieldDescriptor
	for i, part := range strings.Split(path, ".") {
		if i > 0 {
			if fd == nil || fd.Message() == nil {
				return nil
			}
			md = fd.Message()
		}
		fd = md.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil {
			return nil
		}
	}
	return fd
}
