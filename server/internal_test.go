package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

// These tests build the real server (New + Serve, every interceptor) with an observer logger, which
// testenv cannot inject, and (for recovery) an extra service whose handler panics. testenv itself
// cannot be used here: it imports this package.

const (
	testIssuer   = "lookfor-internal-test"
	testAudience = "lookfor"
	panicMethod  = "/lookfor.test.v1.PanicService/Boom"
	panicValue   = "boom: handler bug for the recovery test"
)

// panicService is a one-method service whose handler panics, registered like generated code.
var panicService = grpc.ServiceDesc{
	ServiceName: "lookfor.test.v1.PanicService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Boom",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { panic(panicValue) }
			if interceptor == nil {
				return h(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: panicMethod}, h)
		},
	}},
}

type internalEnv struct {
	conn    *grpc.ClientConn
	baseURL string
	logs    *observer.ObservedLogs
	key     identity.DevKey
	store   *store.Store
}

// token puts p on the roster (district and sites too) and mints a token for it.
func (e *internalEnv) token(t *testing.T, p observation.Principal) string {
	t.Helper()
	ctx := context.Background()
	r := store.Roster{Districts: []observation.District{{ID: p.DistrictID, Name: p.DistrictID, Settings: observation.DefaultDistrictSettings()}}}
	for _, s := range p.SiteIDs {
		r.Sites = append(r.Sites, observation.Site{DistrictID: p.DistrictID, ID: s, Name: s})
	}
	if err := e.store.UpsertRoster(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := e.store.EnsureStaff(ctx, identity.Staff{DistrictID: p.DistrictID, StaffID: p.UserID, Role: string(p.Role), SiteIDs: p.SiteIDs}); err != nil {
		t.Fatal(err)
	}
	tok, err := e.key.Mint(p, testIssuer, testAudience, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func startInternal(t *testing.T) *internalEnv {
	t.Helper()
	ctx := context.Background()
	st := pgtest.NewStore(t)
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	key, jwks, err := identity.EnsureDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := identity.NewVerifier(ctx, identity.Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: jwks})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := DefaultConfig()
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.NetworkIssuers = []identity.Trust{{Issuer: testIssuer, LinkClaim: identity.LinkSubject}}
	s, err := New(cfg, zap.New(core), st, verifier)
	if err != nil {
		t.Fatal(err)
	}
	s.grpc.RegisterService(&panicService, struct{}{})

	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(runCtx, gl, hl) }()
	<-s.Ready()
	conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &internalEnv{conn: conn, baseURL: "http://" + hl.Addr().String(), logs: logs, key: key, store: st}
}

func httpGet(t *testing.T, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRecoveryInterceptor(t *testing.T) {
	t.Parallel()
	e := startInternal(t)
	p := observation.Principal{UserID: "coach-panic", Role: observation.RoleCoach, DistrictID: "d1", SiteIDs: []string{"s1"}}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.token(t, p))

	err := e.conn.Invoke(ctx, panicMethod, &emptypb.Empty{}, &emptypb.Empty{})
	st, _ := status.FromError(err)
	if st.Code() != codes.Internal || st.Message() != "internal error" || len(st.Details()) != 0 {
		t.Fatalf("panic answered %s %q %v, want INTERNAL \"internal error\" without details", st.Code(), st.Message(), st.Details())
	}

	// The server keeps serving, on the same connection and over REST.
	for range 3 {
		resp, err := pb.NewIdentityServiceClient(e.conn).WhoAmI(ctx, &pb.WhoAmIRequest{})
		if err != nil || resp.GetUserId() != p.UserID {
			t.Fatalf("after the panic: %v %v", resp, err)
		}
		if err := e.conn.Invoke(ctx, panicMethod, &emptypb.Empty{}, &emptypb.Empty{}); status.Code(err) != codes.Internal {
			t.Fatalf("second panic: %v", err)
		}
	}
	if resp, body := httpGet(t, e.baseURL+"/v1/me", "Authorization", "Bearer "+e.token(t, p)); resp.StatusCode != http.StatusOK || !strings.Contains(body, p.UserID) {
		t.Errorf("REST after panics: %d %s", resp.StatusCode, body)
	}

	// Each panic is logged at error level with its value, the method and a stack.
	panics := e.logs.FilterMessage("panic recovered").AllUntimed()
	if len(panics) != 4 {
		t.Fatalf("%d panic log lines, want 4", len(panics))
	}
	for _, l := range panics {
		m := l.ContextMap()
		if l.Level != zapcore.ErrorLevel || m["panic"] != panicValue || m["method"] != panicMethod {
			t.Errorf("panic log: level %s, fields %v", l.Level, m)
		}
		if stack, _ := m["stack"].(string); !strings.Contains(stack, "internal_test.go") {
			t.Errorf("panic log stack does not show the handler: %.200q", stack)
		}
	}

	// Panics are counted like every other outcome (server.go: metrics "sit right inside recovery
	// so panics and every code are counted").
	_, metrics := httpGet(t, e.baseURL+"/metrics")
	want := `grpc_server_handled_total{grpc_code="Internal",grpc_method="Boom",grpc_service="lookfor.test.v1.PanicService",grpc_type="unary"} 4`
	if !strings.Contains(metrics, want) {
		var got []string
		for _, line := range strings.Split(metrics, "\n") {
			if strings.Contains(line, "Boom") && strings.HasPrefix(line, "grpc_server_handled_total") && !strings.HasSuffix(line, " 0") {
				got = append(got, line)
			}
		}
		t.Errorf("/metrics lacks %s; Boom counters: %v", want, got)
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	e := startInternal(t)
	p := observation.Principal{UserID: "da-log-1", Role: observation.RoleDistrictAdmin, DistrictID: "d1"}
	tok := e.token(t, p)

	resp, _ := httpGet(t, e.baseURL+"/v1/me", "Authorization", "Bearer "+tok, "X-Request-Id", "trace-42", "X-Device-Id", "tablet-7")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") != "trace-42" {
		t.Fatalf("REST: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	resp, _ = httpGet(t, e.baseURL+"/v1/rubrics/no-such-rubric/versions/latest", "Authorization", "Bearer "+tok, "X-Request-Id", "trace-43")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("REST unknown rubric: %d", resp.StatusCode)
	}
	resp, _ = httpGet(t, e.baseURL+"/v1/me", "X-Request-Id", "trace-44")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("REST without token: %d", resp.StatusCode)
	}
	gctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok, "x-request-id", "trace-45", "x-device-id", "tablet-8")
	if _, err := pb.NewIdentityServiceClient(e.conn).WhoAmI(gctx, &pb.WhoAmIRequest{}); err != nil {
		t.Fatal(err)
	}

	byID := map[string]map[string]any{}
	for _, l := range e.logs.FilterMessage("call").AllUntimed() {
		m := l.ContextMap()
		if id, _ := m["request_id"].(string); id != "" {
			byID[id] = m
		}
		if _, ok := m["duration"].(time.Duration); !ok {
			t.Errorf("access line without a duration: %v", m)
		}
	}
	want := map[string]map[string]any{
		"trace-42": {"method": "/lookfor.v1.IdentityService/WhoAmI", "code": "OK", "principal": p.UserID, "role": "district_admin", "device": "tablet-7"},
		"trace-43": {"method": "/lookfor.v1.RubricService/GetRubricVersion", "code": "NotFound", "principal": p.UserID, "role": "district_admin"},
		"trace-44": {"method": "/lookfor.v1.IdentityService/WhoAmI", "code": "Unauthenticated"},
		"trace-45": {"method": "/lookfor.v1.IdentityService/WhoAmI", "code": "OK", "principal": p.UserID, "role": "district_admin", "device": "tablet-8"},
	}
	for id, fields := range want {
		got, ok := byID[id]
		if !ok {
			t.Errorf("no access line for request %s (have %d lines)", id, len(byID))
			continue
		}
		for k, v := range fields {
			if got[k] != v {
				t.Errorf("request %s: %s = %v, want %v (line %v)", id, k, got[k], v, got)
			}
		}
		if _, hasDevice := fields["device"]; !hasDevice && got["device"] != nil {
			t.Errorf("request %s: unexpected device %v", id, got["device"])
		}
		if _, hasPrincipal := fields["principal"]; !hasPrincipal && got["principal"] != nil {
			t.Errorf("request %s: unauthenticated call logged principal %v", id, got["principal"])
		}
	}
	// The token itself never reaches the log.
	for _, l := range e.logs.All() {
		for _, f := range l.Context {
			if strings.Contains(f.String, tok) {
				t.Errorf("log line %q field %s contains the bearer token", l.Message, f.Key)
			}
		}
	}
}

// toStatus shows a caller only lookfor's words: a domain error's message, never its cause, and
// never the text of an error or status that lookfor did not write.
func TestToStatusShowsOnlyLookforsWords(t *testing.T) {
	secret := "dial tcp 10.0.0.7:5432: invalid byte sequence for encoding UTF8"
	for _, err := range []error{
		&observation.Error{Kind: observation.KindInvalid, Reason: "INVALID_VALUE", Field: "x", Message: "a value cannot be stored", Err: errors.New(secret)},
		observation.Unavailable(errors.New(secret), "database"),
		fmt.Errorf("storing: %w", errors.New(secret)),
		status.Error(codes.Internal, secret),
		status.Error(codes.Unknown, secret),
	} {
		st, _ := status.FromError(toStatus(err))
		if strings.Contains(st.Message(), "10.0.0.7") || strings.Contains(st.Message(), "UTF8") {
			t.Errorf("toStatus(%v) = %s %q: passes on another program's words", err, st.Code(), st.Message())
		}
	}
}
