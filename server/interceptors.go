package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
)

// Metadata keys lookfor reads and writes. The gateway maps the HTTP headers of the same names.
const (
	mdRequestID   = "x-request-id"
	mdDeviceID    = "x-device-id"
	mdIfNoneMatch = "if-none-match"
	mdLanguage    = "accept-language"
	mdETag        = "etag"
	// mdContentDisposition names a CSV export's file; the gateway returns it as the HTTP header.
	mdContentDisposition = "content-disposition"
)

// callInfo travels in the context of every call: the request id interceptor creates it, the auth
// interceptor fills in the principal, and the access log reads it when the call ends.
type callInfo struct {
	requestID string
	principal *observation.Principal
	cause     error // what a handler failed with, before mapping to a status
}

// fail maps a handler's error to its status (toStatus) and keeps the original error for the
// access log, so a database failure is logged with its cause while the client sees only the
// mapped message.
func fail(ctx context.Context, err error) error {
	if ci := callInfoFrom(ctx); ci != nil {
		ci.cause = err
	}
	return toStatus(err)
}

type callInfoKey struct{}

func callInfoFrom(ctx context.Context) *callInfo {
	ci, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return ci
}

type principalKey struct{}

// principalFrom returns the authenticated caller. Every authenticated handler has one: the auth
// interceptor refuses calls without it.
func principalFrom(ctx context.Context) observation.Principal {
	p, _ := ctx.Value(principalKey{}).(observation.Principal)
	return p
}

// firstMD returns the first value of an incoming metadata key.
func firstMD(ctx context.Context, key string) string {
	if v := metadata.ValueFromIncomingContext(ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID keeps a sane caller-supplied x-request-id or makes one, returns it in the response
// header, and starts the call's callInfo.
func requestID(ctx context.Context, _ interceptors.CallMeta) context.Context {
	id := firstMD(ctx, mdRequestID)
	if !requestIDPattern.MatchString(id) {
		id = newRequestID()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(mdRequestID, id))
	return context.WithValue(ctx, callInfoKey{}, &callInfo{requestID: id})
}

func unaryRequestID() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(requestID(ctx, interceptors.NewServerCallMeta(info.FullMethod, nil, req)), req)
	}
}

func streamRequestID() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := requestID(ss.Context(), interceptors.NewServerCallMeta(info.FullMethod, info, nil))
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

// accessLog writes one line per call: method, code, duration, request id, principal, device.
func accessLog(log *zap.Logger, ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	fields := []zap.Field{
		zap.String("method", method),
		zap.String("code", code.String()),
		zap.Duration("duration", time.Since(start)),
	}
	if ci := callInfoFrom(ctx); ci != nil {
		fields = append(fields, zap.String("request_id", ci.requestID))
		if ci.principal != nil {
			fields = append(fields, zap.String("principal", ci.principal.UserID), zap.String("role", string(ci.principal.Role)))
		}
	}
	if d := firstMD(ctx, mdDeviceID); d != "" {
		fields = append(fields, zap.String("device", d))
	}
	switch code {
	case codes.OK, codes.NotFound, codes.InvalidArgument, codes.AlreadyExists, codes.FailedPrecondition,
		codes.Unauthenticated, codes.PermissionDenied, codes.Canceled, codes.ResourceExhausted:
		log.Info("call", fields...)
	default:
		fields = append(fields, zap.Error(err))
		if ci := callInfoFrom(ctx); ci != nil && ci.cause != nil {
			fields = append(fields, zap.NamedError("cause", ci.cause))
		}
		log.Warn("call", fields...)
	}
}

func unaryAccessLog(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		accessLog(log, ctx, info.FullMethod, start, err)
		return resp, err
	}
}

func streamAccessLog(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		accessLog(log, ss.Context(), info.FullMethod, start, err)
		return err
	}
}

// publicMethod reports calls that need no token: health checks and reflection.
func publicMethod(_ context.Context, c interceptors.CallMeta) bool {
	return strings.HasPrefix(c.Service, "grpc.health.") || strings.HasPrefix(c.Service, "grpc.reflection.")
}

// TokenVerifier checks a bearer token's signature, issuer, audience and lifetime and says whose
// it is. It does no database work: hostile tokens are refused before any.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (identity.Identity, error)
}

// authenticate verifies the bearer token, resolves its identity to a staff record through the
// roster (at every call, so roster changes take effect at once on every process) and puts the
// principal in the context.
// A call through the gateway with the pages' session cookie carries the session's identity
// instead of a token (see web.metadata).
func authenticate(v TokenVerifier, r *identity.Resolver, w *web) auth.AuthFunc {
	return func(ctx context.Context) (context.Context, error) {
		id, ok, err := w.fromMetadata(ctx)
		if err != nil {
			return nil, toStatus(err)
		}
		method := identity.MethodSession
		if !ok {
			method = identity.MethodBearer
			token, err := auth.AuthFromMD(ctx, "bearer")
			if err != nil {
				return nil, toStatus(&observation.Error{Kind: observation.KindUnauthenticated, Reason: "TOKEN_MISSING",
					Message: "this call needs a bearer token in the Authorization header ('Authorization: Bearer <token>') or a signed-in session"})
			}
			if id, err = v.Verify(ctx, token); err != nil {
				var de *observation.Error
				if errors.As(err, &de) && de.Reason == identity.ReasonIssuerUntrusted {
					if claimed, ok := identity.Unverified(token); ok {
						w.refused(ctx, claimed, err, method, "", false)
					}
				}
				return nil, toStatus(err)
			}
		}
		p, err := r.Resolve(ctx, id)
		if err != nil {
			w.refused(ctx, id, err, method, "", true)
			return nil, fail(ctx, err)
		}
		p.DeviceID = firstMD(ctx, mdDeviceID)
		if ci := callInfoFrom(ctx); ci != nil {
			ci.principal = &p
		}
		return context.WithValue(ctx, principalKey{}, p), nil
	}
}

// recovered turns a panic into INTERNAL and logs it with its stack; the client sees no detail.
func recovered(log *zap.Logger) func(ctx context.Context, p any) error {
	return func(ctx context.Context, p any) error {
		fields := []zap.Field{zap.String("panic", fmt.Sprint(p)), zap.ByteString("stack", debug.Stack())}
		if m, ok := grpc.Method(ctx); ok {
			fields = append(fields, zap.String("method", m))
		}
		log.Error("panic recovered", fields...)
		return status.Error(codes.Internal, "internal error")
	}
}

// requestSize refuses requests over limit bytes, except pushes: the gRPC transport accepts
// messages up to the push limit, and the push handler applies its own limit with its own
// message.
func requestSize(limit int) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok && info.FullMethod != pb.SyncService_Push_FullMethodName {
			if n := proto.Size(m); n > limit {
				st := status.Newf(codes.ResourceExhausted, "the request is %d bytes; the limit is %d bytes (--max-request-bytes)", n, limit)
				if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reasonRequestTooLarge, Domain: errorDomain}); err == nil {
					st = d // REST answers 413 with this reason (errorHandler)
				}
				return nil, st.Err()
			}
		}
		return handler(ctx, req)
	}
}
