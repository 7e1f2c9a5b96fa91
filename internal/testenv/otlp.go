package testenv

import (
	"context"
	"net"
	gosync "sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// OTLPReceiver is an OpenTelemetry trace collector on loopback: the OTLP protocol's own
// generated gRPC service, keeping every span it is sent with its instrumentation scope.
type OTLPReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	Endpoint string // http://127.0.0.1:PORT, for --otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT

	mu    gosync.Mutex
	spans []*tracepb.Span
	scope map[*tracepb.Span]string
}

// StartOTLPReceiver starts a receiver that stops when t ends.
func StartOTLPReceiver(t testing.TB) *OTLPReceiver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &OTLPReceiver{Endpoint: "http://" + lis.Addr().String(), scope: map[*tracepb.Span]string{}}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, r)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return r
}

// Export keeps the spans of one export.
func (r *OTLPReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, s)
				r.scope[s] = ss.GetScope().GetName()
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Spans returns the spans received so far.
func (r *OTLPReceiver) Spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// Scope returns the instrumentation scope that made s (e.g. …/otelgrpc, …/otelpgx).
func (r *OTLPReceiver) Scope(s *tracepb.Span) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.scope[s]
}
