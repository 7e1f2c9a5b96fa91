package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// TestObservability runs a server with tracing on against a real OTLP receiver and checks the
// three instruments an operator relies on: one REST call is one trace from the HTTP request
// through both gRPC hops to its SQL statements; /metrics has the sync, HTTP, pool, aggregate-log
// and background series (and every series docs/grafana-dashboard.json charts); every HTTP answer,
// the gateway's own 404 included, is access-logged with path, status, bytes and request id.
func TestObservability(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := testenv.StartOTLPReceiver(t)
	tp, shutdown, err := server.NewTracerProvider(ctx, rec.Endpoint)
	if err != nil || tp == nil {
		t.Fatalf("tracer provider: %v %v", tp, err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	base := testenv.Start(t)
	e := base.SecondWith(t, store.Options{TracerProvider: tp}, zap.New(core), func(c *server.Config) { c.TracerProvider = tp })

	// A tablet pushes (gRPC) and pulls; a district admin reads a view (REST); someone asks for a
	// route that does not exist.
	coach := e.Users[observation.RoleCoach]
	tr, device := e.Device(t, coach)
	recs := e.Records(t, 7, coach, 2)
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: device, Changes: testenv.Changes(1, recs...)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Pull(ctx, sync.PullRequest{DeviceID: device}); err != nil {
		t.Fatal(err)
	}
	// A push the service refuses is counted by its status code.
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: uuid.NewString(), Changes: testenv.Changes(1, recs...)}); err == nil {
		t.Fatal("a push from a device never registered was accepted")
	}
	admin := e.Users[observation.RoleDistrictAdmin]
	view := e.Do(t, "GET", "/v1/districts/"+admin.DistrictID+"/progress", e.Token(t, admin), "")
	if view.Status != http.StatusOK {
		t.Fatalf("district progress: %d %s", view.Status, view.Body)
	}
	missing := e.Do(t, "GET", "/v1/no-such-route", "", "")
	if missing.Status != http.StatusNotFound || missing.Header.Get("X-Request-Id") == "" {
		t.Fatalf("unknown route: %d, request id %q", missing.Status, missing.Header.Get("X-Request-Id"))
	}

	// Traces: flush, then find the view's trace.
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := rec.Spans()
	var httpSpan *tracepb.Span
	for _, s := range spans {
		if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && attr(s, "http.route") == "/v1/districts/{district_id}/progress" {
			httpSpan = s
		}
	}
	if httpSpan == nil {
		t.Fatalf("no HTTP server span for the view among %d spans", len(spans))
	}
	if got := attr(httpSpan, "lookfor.request_id"); got != view.Header.Get("X-Request-Id") {
		t.Errorf("HTTP span request id %q, response says %q", got, view.Header.Get("X-Request-Id"))
	}
	byID := map[string]*tracepb.Span{}
	var trace []*tracepb.Span
	for _, s := range spans {
		if string(s.GetTraceId()) == string(httpSpan.GetTraceId()) {
			trace = append(trace, s)
			byID[hex.EncodeToString(s.GetSpanId())] = s
		}
	}
	// Each hop is a child of the one before: HTTP → gRPC client (gateway) → gRPC server → SQL.
	parentOf := func(s *tracepb.Span) *tracepb.Span { return byID[hex.EncodeToString(s.GetParentSpanId())] }
	var grpcClient, grpcServer, sql *tracepb.Span
	for _, s := range trace {
		switch {
		case s.GetName() == "lookfor.v1.ProgressService/GetDistrictProgress" && s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT:
			grpcClient = s
		case s.GetName() == "lookfor.v1.ProgressService/GetDistrictProgress" && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER:
			grpcServer = s
		case strings.Contains(rec.Scope(s), "otelpgx") && strings.Contains(attr(s, "db.query.text")+attr(s, "db.statement"), "progress_cells"):
			sql = s
		}
	}
	if grpcClient == nil || grpcServer == nil || sql == nil {
		names := []string{}
		for _, s := range trace {
			names = append(names, s.GetName()+" ("+rec.Scope(s)+")")
		}
		t.Fatalf("the view's trace lacks a hop (gRPC client %v, gRPC server %v, SQL on progress_cells %v); it has %q",
			grpcClient != nil, grpcServer != nil, sql != nil, names)
	}
	if parentOf(grpcClient) != httpSpan || parentOf(grpcServer) != grpcClient {
		t.Errorf("gRPC spans are not children of the HTTP span in turn")
	}
	for p := parentOf(sql); p != grpcServer; p = parentOf(p) {
		if p == nil {
			t.Fatalf("the SQL span %q does not descend from the gRPC server span", sql.GetName())
		}
	}
	// The tablet's push is a trace of its own, down to its SQL.
	pushTraced := false
	for _, s := range spans {
		if s.GetName() == "lookfor.v1.SyncService/Push" && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
			for _, c := range spans {
				if string(c.GetTraceId()) == string(s.GetTraceId()) && strings.Contains(rec.Scope(c), "otelpgx") {
					pushTraced = true
				}
			}
		}
	}
	if !pushTraced {
		t.Errorf("no trace of the tablet's push with its SQL statements")
	}

	// Metrics.
	metrics := e.Do(t, "GET", "/metrics", "", "").Body
	for _, want := range []string{
		`lookfor_sync_change_results_total{reason="",status="applied"} 2`,
		`lookfor_sync_pushes_total{outcome="ok"} 1`,
		`lookfor_sync_pushes_total{outcome="failed_precondition"} 1`,
		`lookfor_sync_pulls_total{outcome="ok"} 1`,
		`lookfor_http_requests_total{code="200",method="GET",route="/v1/districts/{district_id}/progress"} 1`,
		`lookfor_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`lookfor_db_pool_max_connections{pool="primary"}`,
		`lookfor_progress_log_backlog_rows `,
		`lookfor_background_leader `,
		`lookfor_background_runs_total{job="progress_fold"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	name := regexp.MustCompile(`\b(lookfor|grpc_server|process|go)_[a-z0-9_]+\b`)
	queried := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			continue
		}
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				queried++
				if !regexp.MustCompile(`(?m)^` + m + `[{ ]`).MatchString(metrics) {
					t.Errorf("dashboard panel %q queries %s, which /metrics does not have", p.Title, m)
				}
			}
		}
	}
	if queried < 10 {
		t.Errorf("the dashboard queries only %d metric names", queried)
	}

	// Access log: the gateway's own 404, with everything an operator greps for.
	found := false
	for _, entry := range logs.FilterMessage("http").All() {
		f := entry.ContextMap()
		if f["path"] == "/v1/no-such-route" {
			found = true
			if f["status"] != int64(404) || f["bytes"].(int64) <= 0 || f["request_id"] != missing.Header.Get("X-Request-Id") || f["route"] != "unmatched" {
				t.Errorf("access log of the 404: %v", f)
			}
		}
	}
	if !found {
		t.Errorf("the gateway's 404 was not access-logged")
	}
}
