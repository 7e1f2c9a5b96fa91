package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	gosync "sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/gen/openapi"
	"github.com/lookfor-edu/lookfor/observation"
	webui "github.com/lookfor-edu/lookfor/web"
)

// forwardedHeaders are HTTP request headers the gateway passes to gRPC under the same name.
var forwardedHeaders = map[string]bool{
	"X-Request-Id":    true,
	"X-Device-Id":     true,
	"If-None-Match":   true,
	"Accept-Language": true,
}

// returnedHeaders are gRPC response headers the gateway returns as plain HTTP headers. The
// request id is not among them: observeHTTP sets it on every answer.
var returnedHeaders = map[string]string{
	mdETag:               "ETag",
	mdContentDisposition: "Content-Disposition",
	mdDataAsOf:           "X-Data-As-Of",
}

func incomingHeader(key string) (string, bool) {
	key = textproto.CanonicalMIMEHeaderKey(key)
	if strings.HasPrefix(strings.ToLower(key), "grpc-metadata-x-lookfor-") {
		return "", false // the session metadata only the gateway itself may set
	}
	if forwardedHeaders[key] {
		return strings.ToLower(key), true
	}
	return runtime.DefaultHeaderMatcher(key)
}

func outgoingHeader(key string) (string, bool) {
	h, ok := returnedHeaders[strings.ToLower(key)]
	return h, ok
}

// notModified answers 304 when the rubric fetch says the tablet's copy is current.
func notModified(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	if r, ok := m.(*pb.GetRubricVersionResponse); ok {
		w.Header().Set("Cache-Control", "private, no-cache")
		if r.GetNotModified() {
			w.WriteHeader(http.StatusNotModified)
		}
	}
	return nil
}

// Reason codes of requests refused for their size.
const (
	reasonPushTooLarge    = "PUSH_TOO_LARGE"
	reasonTooManyChanges  = "TOO_MANY_CHANGES"
	reasonRequestTooLarge = "REQUEST_TOO_LARGE"
)

// errorHandler is the gateway's default error body ({"code", "message", "details"}) with one
// change: a request refused for its size is 413 Payload Too Large with its reason code, never
// 429 (which means "retry later" to clients; a batch over a limit must be split instead). That
// covers the push limits (TOO_MANY_CHANGES, PUSH_TOO_LARGE), a body over the REST limit that
// arrives as a decoding error (chunked bodies, whose size limitBody cannot know in advance), and
// the gRPC transport's own message size limits, whose raw text never reaches the caller.
//
// It also turns the gateway's own decoding errors (body, query, path parameters) into lookfor
// field errors (fieldErrorOf) with their BadRequest detail — 408 for a body that did not arrive
// within --http-read-body-timeout — and logs every 5xx it answers, with the request id: those
// are lookfor's defects or outages.
func (s *Server) errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok {
		switch msg := st.Message(); {
		case strings.Contains(msg, "http: request body too large"): // reported by the decoder as INVALID_ARGUMENT
			err = tooLarge(sizeStatus(r, fmt.Sprintf("the request body is larger than the limit of %d bytes (%s)", s.bodyLimit(r), s.bodyLimitName(r))))
		case st.Code() != codes.ResourceExhausted:
		case strings.Contains(msg, "grpc: received message larger than max"), strings.Contains(msg, "grpc: trying to send message larger than max"):
			err = tooLarge(sizeStatus(r, fmt.Sprintf("the request is larger than the limit of %d bytes "+
				"(twice the larger of --max-request-bytes and --push-max-bytes, plus 128 KiB)", 2*s.cfg.recvLimit())))
		default:
			if reason := errorReason(st); reason == reasonPushTooLarge || reason == reasonTooManyChanges || reason == reasonRequestTooLarge {
				err = tooLarge(st)
			}
		}
	}
	switch fe := fieldErrorOf(err); {
	case fe != nil && fe.Reason == reasonBodyTimeout:
		err = &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestTimeout, Err: toStatus(&observation.Error{
			Kind: observation.KindInvalid, Reason: reasonBodyTimeout, Field: "body",
			Message: fmt.Sprintf("the request body did not arrive within %s (--http-read-body-timeout)", s.cfg.HTTPReadBodyTimeout)})}
	case fe != nil:
		err = toStatus(fe)
	}
	if code := httpStatusOf(err); code >= 500 {
		id := r.Header.Get("X-Request-Id")
		if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
			if v := md.HeaderMD.Get(mdRequestID); len(v) > 0 {
				id = v[0]
			}
		}
		s.log.Error("REST call failed", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("http_status", code), zap.String("request_id", id), zap.Error(err))
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// httpStatusOf is the HTTP status the gateway answers err with.
func httpStatusOf(err error) int {
	var he *runtime.HTTPStatusError
	if errors.As(err, &he) {
		return he.HTTPStatus
	}
	return runtime.HTTPStatusFromCode(status.Code(err))
}

// checkEdge is a gateway middleware: after routing, before anything is copied into a gRPC
// request, it refuses path parameters, query names and values, and forwarded headers that are
// not valid text (edgeProblem), naming the parameter.
func (s *Server) checkEdge(mux **runtime.ServeMux, m runtime.Marshaler) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
			if fe := edgeProblem(r, pathParams); fe != nil {
				s.errorHandler(r.Context(), *mux, m, w, r, toStatus(fe))
				return
			}
			next(w, r, pathParams)
		}
	}
}

// setQueryParser installs queryParser, which the gateway keeps in a process-wide variable.
var setQueryParser gosync.Once

func tooLarge(st *status.Status) error {
	return &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge, Err: st.Err()}
}

// sizeStatus is RESOURCE_EXHAUSTED with the reason for r's kind of request: PUSH_TOO_LARGE for
// a push (split the batch), REQUEST_TOO_LARGE otherwise.
func sizeStatus(r *http.Request, msg string) *status.Status {
	reason := reasonRequestTooLarge
	if r.URL.Path == "/v1/sync:push" {
		reason, msg = reasonPushTooLarge, msg+"; split the push into smaller batches"
	}
	st := status.New(codes.ResourceExhausted, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain}); err == nil {
		st = d
	}
	return st
}

func errorReason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func (s *Server) httpHandler(ctx context.Context, conn *grpc.ClientConn) (http.Handler, error) {
	setQueryParser.Do(func() { runtime.NewServeMux(runtime.SetQueryParameterParser(&queryParser{})) })
	// HTTPBodyMarshaler writes a google.api.HttpBody response (the CSV exports) as the raw body
	// with its own content type; every other message is JSON. Bodies are decoded strictly
	// (decodeBody).
	marshaler := jsonBody{&runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}}
	var gw *runtime.ServeMux
	gw = runtime.NewServeMux(
		runtime.WithMiddlewares(noteRoute, s.checkEdge(&gw, marshaler)),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithForwardResponseOption(notModified),
		runtime.WithErrorHandler(s.errorHandler),
		runtime.WithMetadata(s.web.metadata),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
	)
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		pb.RegisterRubricServiceHandler,
		pb.RegisterIdentityServiceHandler,
		pb.RegisterAuditServiceHandler,
		pb.RegisterSyncServiceHandler,
		pb.RegisterObservationServiceHandler,
		pb.RegisterRosterServiceHandler,
		pb.RegisterProgressServiceHandler,
	} {
		if err := register(ctx, gw, conn); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if s.health.stopping.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
			return
		}
		if err := s.store.Ping(pctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": "ok"})
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Spec)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	mux.Handle("/auth/", s.web.protect(s.web.routes()))
	api := atGateway(s.web.protect(s.limitBody(gw)))
	mux.Handle("/v1/", api)
	// The front ends (embedded; see web/): the tablet app at /app/, the pages at /. Other methods
	// at other paths reach the gateway, which answers them in its JSON error body.
	app, pages := webui.Handler(webui.App, "/app/"), webui.Handler(webui.Pages, "/")
	mux.Handle("/app/", getOr(app, api))
	mux.Handle("/", getOr(pages, api))
	return traceHTTP(s.cfg.TracerProvider, s.observeHTTP(mux)), nil
}

// getOr serves GET and HEAD with get and every other method with other.
func getOr(get, other http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			get.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over the configured limit: at once with 413 when Content-Length says
// so, and while reading otherwise.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.bodyLimit(r)
		if r.ContentLength > limit {
			body, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(
				sizeStatus(r, fmt.Sprintf("the request body is %d bytes; the limit is %d bytes (%s)", r.ContentLength, limit, s.bodyLimitName(r))).Proto())
			if err != nil {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = w.Write(body)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		s.bodyDeadline(w)
		next.ServeHTTP(w, r)
	})
}

// bodyLimit is the largest REST body accepted for r: MaxRequestBytes, except pushes, whose JSON
// may be up to twice the push byte limit (JSON is larger than the protobuf it decodes to; the
// push handler then applies the exact limit to the decoded batch).
func (s *Server) bodyLimit(r *http.Request) int64 {
	if r.URL.Path == "/v1/sync:push" {
		return int64(2 * s.cfg.recvLimit())
	}
	return int64(s.cfg.MaxRequestBytes)
}

// bodyLimitName says where bodyLimit(r) comes from.
func (s *Server) bodyLimitName(r *http.Request) string {
	if r.URL.Path == "/v1/sync:push" {
		return "a push's JSON: twice the larger of --max-request-bytes and --push-max-bytes, plus 128 KiB"
	}
	return "--max-request-bytes"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
