package server_test

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
)

// ---------------------------------------------------------------------------------------------
// 8. request ids

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tok := e.TokenFor(t, observation.RoleCoach)
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)

	r := e.Do(t, "GET", "/v1/me", tok, "", "X-Request-Id: tablet-7.req:0042_a-b")
	if got := r.Header.Get("X-Request-Id"); got != "tablet-7.req:0042_a-b" {
		t.Errorf("sane id echoed as %q", got)
	}
	r = e.Do(t, "GET", "/v1/me", tok, "")
	first := r.Header.Get("X-Request-Id")
	if !generated.MatchString(first) {
		t.Errorf("generated id %q", first)
	}
	r = e.Do(t, "GET", "/v1/me", tok, "")
	if second := r.Header.Get("X-Request-Id"); !generated.MatchString(second) || second == first {
		t.Errorf("second generated id %q (first %q)", second, first)
	}
	for _, insane := range []string{"has spaces in it", strings.Repeat("a", 129), "semi;colon", "<script>"} {
		r = e.Do(t, "GET", "/v1/me", tok, "", "X-Request-Id: "+insane)
		if got := r.Header.Get("X-Request-Id"); !generated.MatchString(got) {
			t.Errorf("insane id %q answered with %q", insane, got)
		}
	}
	// Errors carry it too.
	r = e.Do(t, "GET", "/v1/me", "", "", "X-Request-Id: failing-call-1")
	if r.Status != http.StatusUnauthorized || r.Header.Get("X-Request-Id") != "failing-call-1" {
		t.Errorf("401: HTTP %d, id %q", r.Status, r.Header.Get("X-Request-Id"))
	}

	var md metadata.MD
	if _, err := pb.NewIdentityServiceClient(e.GRPC).WhoAmI(testenv.Ctx(tok, "x-request-id", "grpc-req-1"), &pb.WhoAmIRequest{}, grpc.Header(&md)); err != nil {
		t.Fatal(err)
	}
	if got := md.Get("x-request-id"); len(got) != 1 || got[0] != "grpc-req-1" {
		t.Errorf("gRPC x-request-id header %v", got)
	}
}

// ---------------------------------------------------------------------------------------------
// 9. graceful shutdown

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	// On a loopback address of its own: the other tests' servers listen on 127.0.0.1, so none
	// of them can be given a port this server frees before the check below dials it.
	e := testenv.Start(t, func(c *server.Config) { c.GRPCAddr, c.HTTPAddr = "127.0.0.73:0", "127.0.0.73:0" })
	grpcAddr, httpAddr := e.Server.Addrs()

	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch, err := healthpb.NewHealthClient(e.GRPC).Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown: %v %v", h.GetStatus(), err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop() }()

	// While draining (our watch stream is still in flight), health says NOT_SERVING.
	h, err := watch.Recv()
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health while draining: %v %v", h.GetStatus(), err)
	}
	cancel() // the last in-flight call ends; the drain completes

	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Stop: %v", err)
		}
	case <-time.After(4 * time.Second): // under the 5 s drain timeout: the drain itself finished
		t.Fatal("Stop did not return after the last call ended")
	}
	for _, a := range []net.Addr{grpcAddr, httpAddr} {
		if c, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Stop", a)
		}
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// ---------------------------------------------------------------------------------------------
// 10. readiness follows the database

func TestReadyzDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	hc := healthpb.NewHealthClient(e.GRPC)
	if r := e.Do(t, "GET", "/readyz", "", ""); r.Status != http.StatusOK {
		t.Fatalf("/readyz before: %d %s", r.Status, r.Body)
	}
	tok := e.TokenFor(t, observation.RoleCoach)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	db := e.Store.Pool().Config().ConnConfig.Database
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}

	r := e.Do(t, "GET", "/readyz", "", "")
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "database unreachable") {
		t.Errorf("/readyz after the database went away: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/healthz", "", ""); r.Status != http.StatusOK {
		t.Errorf("/healthz (liveness) after the database went away: %d", r.Status)
	}
	h, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health: %v %v, want NOT_SERVING", h.GetStatus(), err)
	}
	// Calls that need the database (resolving the caller through the roster, to begin with)
	// answer UNAVAILABLE (503), never INTERNAL.
	_, err = pb.NewRubricServiceClient(e.GRPC).GetRubricVersion(testenv.Ctx(tok), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest"})
	if st := wantCode(t, err, codes.Unavailable); strings.Contains(st.Message(), "does not exist") {
		t.Errorf("UNAVAILABLE leaks the database error: %q", st.Message())
	}
	r = e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest", tok, "")
	wantREST(t, r, http.StatusServiceUnavailable, codes.Unavailable)
}
