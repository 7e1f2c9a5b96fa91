package server

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lookfor-edu/lookfor/observation"
)

// refusalLog is where refused cross-district requests are recorded.
type refusalLog interface {
	// AuditRefusal records e in e.DistrictID's audit log if that district exists.
	AuditRefusal(ctx context.Context, e observation.AuditEntry) error
}

// districtFields are the request fields that name the district a request is about.
var districtFields = []protoreflect.Name{"district_id", "owner_id"}

// maxAuditedID bounds each request id copied into a refusal's entry.
const maxAuditedID = 200

// unaryRefusalAudit records every request refused NOT_FOUND or PERMISSION_DENIED that reached
// into a district other than the caller's — another district's rubric, record, conflict, roster,
// settings, goals, views or audit log — in that district's audit log (action "access.refused"),
// if the district exists. The caller's answer is the same either way: the same statement runs
// whether or not the district exists, and a failure to write the entry is only logged. The district is the one the domain names in its error (observation.Error.District),
// else the request's district_id (or owner_id).
func unaryRefusalAudit(st refusalLog, log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err == nil {
			return resp, nil
		}
		code := status.Code(err)
		if code != codes.NotFound && code != codes.PermissionDenied {
			return resp, err
		}
		p := principalFrom(ctx)
		if p.UserID == "" || p.Role == observation.RoleAdmin {
			return resp, err
		}
		district, reason := "", ""
		var de *observation.Error
		if ci := callInfoFrom(ctx); ci != nil && errors.As(ci.cause, &de) {
			district, reason = de.District, de.Reason
		}
		msg, _ := req.(proto.Message)
		ids := map[string]any{}
		if msg != nil {
			m := msg.ProtoReflect()
			fields := m.Descriptor().Fields()
			for i := 0; i < fields.Len(); i++ {
				f := fields.Get(i)
				if f.Kind() != protoreflect.StringKind || f.IsList() || f.IsMap() {
					continue
				}
				v := m.Get(f).String()
				if v == "" || len(v) > maxAuditedID {
					continue
				}
				for _, name := range districtFields {
					if f.Name() == name && district == "" {
						district = v
					}
				}
				if name := string(f.Name()); len(name) > 3 && name[len(name)-3:] == "_id" {
					ids[name] = v
				}
			}
		}
		if district == "" || district == observation.NetworkOwner || district == p.DistrictID {
			return resp, err
		}
		e := observation.Audit(p, district, "access.refused", "rpc", info.FullMethod, time.Now().UTC())
		e.Details["code"], e.Details["reason"], e.Details["request"] = code.String(), reason, ids
		// The refusal stands whatever happens here; a slow or failed write must not hold it up long.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if aerr := st.AuditRefusal(actx, e); aerr != nil {
			log.Warn("could not record a refused request in the audit log", zap.String("method", info.FullMethod),
				zap.String("district", district), zap.Error(aerr))
		}
		return resp, err
	}
}
