package server

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
)

// FuzzDecodeBody drives the gateway's body decoding with arbitrary bytes for a few request
// types. It must never panic; it accepts exactly one JSON object that protojson accepts (so it
// is never more lenient than protojson, and refuses trailing data protojson's streaming use let
// through); and every refusal is a field error naming a field, in lookfor's words.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{}`, `{} x`, `{}{}`, `[]`, `"x"`, `null`, ``, `   `, `{"device_id":"a\u0000b"}`,
		`{"device_id":"7c1e3f0a-3f7e-4c4e-9d59-6d1c2b0a9e11","changes":[{"seq":"1","op":"CHANGE_OP_UPSERT","record":{"rubric_version":4294967296}}]}`,
		`{"changes":[{"record":{"scores":[{"level":"x"}]}}]}`,
		`{"changes":[{"record":{"started_at":"yesterday"}}]}`,
		`{"changes":{"seq":1}}`, `{"changes":[1,2]}`, `{"cursor":1e400}`, `{"schema_version":-1}`,
		`{"content":{"title":{"en":1}}}`, `{"content":{"title":[]}}`, `{"rubricId":"x","rubric_id":"y"}`,
		"{\"device_id\":\"\xff\"}", "{\"\xff\":1}", `{"a":` + strings.Repeat(`[`, 100),
		`{"page_size":"12"}`, `{"page_size":1.0}`, `{"page_size":"0x10"}`,
		`{"page_size":1e999999999}`, `{"page_size":"1e999999999"}`, `{"page_size":-0.5e-99999999999}`,
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		var msg proto.Message
		switch which % 3 {
		case 0:
			msg = &pb.PushRequest{}
		case 1:
			msg = &pb.CreateRubricRequest{}
		default:
			msg = &pb.ListObservationsRequest{}
		}
		err := decodeBody(bytes.NewReader(data), msg)
		if err == nil {
			// Accepted: protojson accepts it too, and it is one JSON object.
			again := msg.ProtoReflect().New().Interface()
			if perr := protojson.Unmarshal(data, again); perr != nil {
				t.Fatalf("accepted %q, which protojson refuses: %v", data, perr)
			}
			if _, perr := parseJSON(data); perr != nil {
				t.Fatalf("accepted %q, which is not one JSON object: %v", data, perr)
			}
			return
		}
		if errors.Is(err, io.EOF) {
			if len(bytes.TrimSpace(data)) != 0 {
				t.Fatalf("%q treated as an empty body", data)
			}
			return
		}
		var ge *gatewayError
		if !errors.As(err, &ge) {
			t.Fatalf("%q: refused with %T %v, not a field error", data, err, err)
		}
		if ge.e.Field == "" || ge.e.Reason == "" || ge.e.Message == "" {
			t.Fatalf("%q: field error without field, reason or message: %+v", data, ge.e)
		}
		if fe := fieldErrorOf(statusOfGateway(err)); fe == nil || fe.Field != ge.e.Field {
			t.Fatalf("%q: the error handler cannot read the field error back: %v", data, fe)
		}
		if leaked := strings.ToLower(ge.e.Message); strings.Contains(leaked, "proto") || strings.Contains(leaked, "syntax error") ||
			strings.Contains(leaked, "invalid character") || strings.Contains(leaked, "json:") {
			t.Fatalf("%q: message in another program's words: %q", data, ge.e.Message)
		}
		// Refused: protojson refuses it too, unless it is not exactly one JSON object.
		if _, perr := parseJSON(data); perr == nil {
			again := msg.ProtoReflect().New().Interface()
			if protojson.Unmarshal(data, again) == nil {
				t.Fatalf("refused %q (%v), which protojson accepts", data, ge.e)
			}
		}
	})
}

// statusOfGateway is what the generated gateway code makes of a decoding error.
func statusOfGateway(err error) error { return status.Errorf(codes.InvalidArgument, "%v", err) }
