package server

import (
	"context"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// mdDataAsOf carries a CSV export's data_as_of (RFC 3339) as a response header (X-Data-As-Of).
const mdDataAsOf = "x-data-as-of"

// viewsAsOf stamps every ProgressService answer with the instant up to which its view counts
// every committed write (store.ViewsAsOf, read before the view so the view is at least that
// current): the data_as_of field of a view, the X-Data-As-Of header of a CSV export. It is the
// innermost interceptor, so refused calls never ask.
func viewsAsOf(asOf func(context.Context) (time.Time, error)) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, "/lookfor.v1.ProgressService/") {
			return handler(ctx, req)
		}
		at, err := asOf(ctx)
		if err != nil {
			return nil, fail(ctx, err)
		}
		resp, err := handler(ctx, req)
		if err != nil {
			return resp, err
		}
		if at.IsZero() { // a replica that has replayed nothing since it started: unknown, left unset
			return resp, nil
		}
		if _, csv := resp.(*httpbody.HttpBody); csv {
			_ = grpc.SetHeader(ctx, metadata.Pairs(mdDataAsOf, at.Format(time.RFC3339Nano)))
		} else if m, ok := resp.(proto.Message); ok {
			if fd := m.ProtoReflect().Descriptor().Fields().ByName("data_as_of"); fd != nil && fd.Kind() == protoreflect.MessageKind {
				m.ProtoReflect().Set(fd, protoreflect.ValueOfMessage(timestamppb.New(at).ProtoReflect()))
			}
		}
		return resp, nil
	}
}
