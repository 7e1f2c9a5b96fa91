package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/felixge/httpsnoop"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// Tracing (docs/operations.md): OpenTelemetry spans for every REST request (otelhttp), every
// gRPC call on both sides of the gateway's loopback hop (otelgrpc) and every PostgreSQL
// statement (otelpgx, in store), exported over OTLP/gRPC. Off unless an endpoint is configured:
// then no instrumentation is installed at all.

// propagator carries the trace context (W3C traceparent) from a REST request through the
// gateway's gRPC call to the handler, and from a tablet's gRPC call in.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// NewTracerProvider returns a tracer provider exporting over OTLP/gRPC to endpoint (a URL such as
// http://collector:4317, https:// for TLS; a bare host:port is plaintext), or, with endpoint
// empty, to what OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT say. With
// neither it returns nil: tracing is off. shutdown flushes the spans still buffered.
func NewTracerProvider(ctx context.Context, endpoint string) (tp *sdktrace.TracerProvider, shutdown func(context.Context) error, err error) {
	var opts []otlptracegrpc.Option
	switch {
	case endpoint == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "":
		return nil, func(context.Context) error { return nil }, nil
	case endpoint == "": // the exporter reads the environment itself
	case strings.Contains(endpoint, "://"):
		opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
	default:
		opts = append(opts, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", "lookfor")))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(rootSampler{})))
	return tp, tp.Shutdown, nil
}

// rootSampler starts traces at requests (server spans) only: a PostgreSQL statement or an
// outgoing call with no request around it is background work (the fold every half second, the
// lease check), which would bury the requests' traces.
type rootSampler struct{}

func (rootSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	d := sdktrace.RecordAndSample
	if p.Kind == trace.SpanKindClient || p.Kind == trace.SpanKindInternal {
		d = sdktrace.Drop
	}
	return sdktrace.SamplingResult{Decision: d, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}

func (rootSampler) Description() string { return "lookfor root sampler (requests only)" }

// grpcServerTracing and grpcClientTracing are the otelgrpc stats handlers, nil when tracing is off.
func grpcServerTracing(tp trace.TracerProvider) []grpc.ServerOption {
	if tp == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(propagator), otelgrpc.WithMeterProvider(noopmetric.NewMeterProvider())))}
}

func grpcClientTracing(tp trace.TracerProvider) []grpc.DialOption {
	if tp == nil {
		return nil
	}
	var h stats.Handler = otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(propagator), otelgrpc.WithMeterProvider(noopmetric.NewMeterProvider()))
	return []grpc.DialOption{grpc.WithStatsHandler(h)}
}

// routeKey holds, in a request's context, where the gateway writes the route it matched.
type routeKey struct{}

type routeHolder struct {
	route   string // the gateway route matched
	gateway bool   // the request reached the gateway (which may have matched no route)
}

// atGateway marks the requests that reach the gateway, for observeHTTP's route label.
func atGateway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
			h.gateway = true
		}
		next.ServeHTTP(w, r)
	})
}

// noteRoute is a gateway middleware: it records the matched route's pattern for the HTTP
// metrics, access log and span name.
func noteRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
			if p, ok := runtime.HTTPPattern(r.Context()); ok {
				h.route = strings.ReplaceAll(p.String(), "=*}", "}") // {district_id}, as in the OpenAPI spec
			}
		}
		next(w, r, pathParams)
	}
}

// observeHTTP wraps the whole HTTP handler: it gives every request an id (the caller's valid
// X-Request-Id, else a new one; forwarded to gRPC, which keeps it, and returned), then counts it by route and
// status, logs it (method, path, route, status, bytes, duration, request id) and names its span
// by route. It sees every answer, the gateway's own 404s, 405s and 5xx included.
func (s *Server) observeHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			// An id that is not text at all stays, for the gateway's edge check to refuse
			// (400 naming the header); any other unusable one is replaced, as gRPC would.
			hostile := len(r.Header.Values("X-Request-Id")) > 0 && headerProblem(id) != ""
			id = newRequestID()
			if !hostile {
				r.Header.Set("X-Request-Id", id)
			}
		}
		holder := &routeHolder{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, holder))
		// Returned here, not by the gateway (whose gRPC call keeps this same valid id), so every
		// answer carries it, the gateway's own errors included.
		w.Header().Set("X-Request-Id", id)
		m := httpsnoop.CaptureMetrics(next, w, r)
		route := holder.route
		switch {
		case route != "":
		case holder.gateway || r.Pattern == "":
			route = "unmatched" // the gateway found no route (404/405), or nothing did
		default:
			route = r.Pattern // /healthz, /metrics, /auth/, the pages and the tablet app
		}
		code := fmt.Sprint(m.Code)
		s.httpMetrics.requests.WithLabelValues(r.Method, route, code).Inc()
		s.httpMetrics.duration.WithLabelValues(r.Method, route).Observe(m.Duration.Seconds())
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetName(r.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route), attribute.String("lookfor.request_id", id))
		}
		if quietPath(r.URL.Path) && m.Code < 400 {
			return
		}
		s.log.Info("http", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("route", route),
			zap.Int("status", m.Code), zap.Int64("bytes", m.Written), zap.Duration("duration", m.Duration),
			zap.String("request_id", id))
	})
}

// quietPath: probes and scrapes are not access-logged (unless they fail) nor traced.
func quietPath(p string) bool { return p == "/healthz" || p == "/readyz" || p == "/metrics" }

// traceHTTP starts a server span for every REST request when tracing is on.
func traceHTTP(tp trace.TracerProvider, h http.Handler) http.Handler {
	if tp == nil {
		return h
	}
	return otelhttp.NewHandler(h, "http", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator),
		otelhttp.WithMeterProvider(noopmetric.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return !quietPath(r.URL.Path) }))
}
