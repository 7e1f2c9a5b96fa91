package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// rawCodec sends hand-made wire bytes, which a Go client's protobuf runtime would refuse to
// marshal (invalid UTF-8 in a string field).
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (rawCodec) Name() string                         { return "proto" }

// Direct gRPC callers get the same answer as REST for text lookfor cannot store: INVALID_ARGUMENT
// naming the field — also for invalid UTF-8, which the protobuf runtime refuses to decode (gRPC
// itself would answer INTERNAL before lookfor sees the call).
func TestHostileGRPCTextNamesTheField(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := testenv.Ctx(e.TokenFor(t, observation.RoleCoach))
	str := func(b []byte, num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
	}
	msg := func(b []byte, num protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), m)
	}
	record := str(nil, 24, "ask \xffstudents") // ObservationRecord.next_steps
	change := msg(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1), 3, record)
	for _, c := range []struct {
		name, method string
		raw          []byte
		field        string
	}{
		{"invalid UTF-8 in an id", pb.ObservationService_GetObservation_FullMethodName, str(nil, 1, "\xff"), "observation_id"},
		{"NUL in an id", pb.ObservationService_GetObservation_FullMethodName, str(nil, 1, "a\x00b"), "observation_id"},
		{"invalid UTF-8 deep in a push", pb.SyncService_Push_FullMethodName,
			msg(str(nil, 1, "7c1e3f0a-3f7e-4c4e-9d59-6d1c2b0a9e11"), 2, change), "changes[0].record.next_steps"},
		{"invalid UTF-8 in a map value", pb.RubricService_CreateRubric_FullMethodName,
			msg(str(nil, 2, "r1"), 3, msg(nil, 1, str(str(nil, 1, "en"), 2, "\xc3"))), "content.title"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reply []byte
			err := e.GRPC.Invoke(ctx, c.method, c.raw, &reply, grpc.ForceCodecV2(rawCodec{}))
			st := wantCode(t, err, codes.InvalidArgument)
			if v := violationsOf(st); len(v) != 1 || !strings.HasPrefix(v[0], c.field) || reasonOf(st) != observation.ReasonInvalidUTF8 {
				t.Errorf("violations %v, reason %q (%s): want %s, INVALID_UTF8", v, reasonOf(st), st.Message(), c.field)
			}
		})
	}
}
