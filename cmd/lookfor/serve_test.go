package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/testenv"
)

// --- 4. serve -------------------------------------------------------------------------------

func TestServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := pgtest.NewDatabase(t) // empty: serve --migrate creates the schema
	jwks, users := devKeys(t, dir)
	coach, ok := users["coach"]
	if !ok {
		t.Fatal("token --demo printed no coach")
	}

	// The first run traces to a collector named by the standard OpenTelemetry variable; the
	// second has none and so no tracing.
	collector := testenv.StartOTLPReceiver(t)
	for i, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
			base := "http://" + httpAddr
			// The addresses are given only through the environment.
			env := []string{"DATABASE_URL=" + db, "LOOKFOR_GRPC_ADDR=" + grpcAddr, "LOOKFOR_HTTP_ADDR=" + httpAddr}
			if i == 0 {
				env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+collector.Endpoint)
			}
			spansBefore := len(collector.Spans())
			p := startServe(t, dir, env, "--migrate", "--jwks-file", jwks, "--jwt-issuer", "lookfor-dev")
			p.waitReady(t, base)
			if i == 0 {
				if out := mustRun(t, dir, []string{"DATABASE_URL=" + db}, "seed"); !strings.Contains(out, seedCounts) {
					t.Fatalf("seed: want %q in:\n%s", seedCounts, out)
				}
			}

			status, body := get(t, base, "/v1/me", coach.token)
			if status != http.StatusOK {
				t.Fatalf("GET /v1/me: %d %s", status, body)
			}
			var me struct {
				UserID string `json:"user_id"`
				Role   string `json:"role"`
			}
			if err := json.Unmarshal(body, &me); err != nil {
				t.Fatalf("GET /v1/me: %v: %s", err, body)
			}
			if me.UserID != coach.user || me.Role != "ROLE_COACH" {
				t.Errorf("GET /v1/me = %s, want user %s, ROLE_COACH", body, coach.user)
			}
			if status, body := get(t, base, "/v1/me", ""); status != http.StatusUnauthorized {
				t.Errorf("GET /v1/me without a token: %d %s, want 401", status, body)
			}

			status, body = get(t, base, rubricPath, coach.token)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", rubricPath, status, body)
			}
			var rv struct {
				Version struct {
					RubricID string `json:"rubric_id"`
					Version  int    `json:"version"`
					Status   string `json:"status"`
				} `json:"version"`
			}
			if err := json.Unmarshal(body, &rv); err != nil {
				t.Fatalf("GET %s: %v: %s", rubricPath, err, body)
			}
			if rv.Version.RubricID != "k8-academic-discourse" || rv.Version.Version != 1 || rv.Version.Status != "VERSION_STATUS_PUBLISHED" {
				t.Errorf("GET %s: unexpected version %+v", rubricPath, rv.Version)
			}

			// The gRPC port is the one from LOOKFOR_GRPC_ADDR and reports SERVING.
			conn, err := grpc.NewClient("passthrough:///"+grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			cancel()
			conn.Close()
			if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("grpc health on %s: %v %v", grpcAddr, hc.GetStatus(), err)
			}

			if code := p.stop(t, sig); code != 0 {
				t.Errorf("exit code %d after %v, want 0\nlogs:\n%s", code, sig, p.logs.String())
			}
			entries := p.logEntries(t)
			serving := findLog(entries, "serving")
			if serving == nil || serving["grpc"] != grpcAddr || serving["http"] != httpAddr {
				t.Errorf("no serving log on grpc %s, http %s:\n%s", grpcAddr, httpAddr, p.logs.String())
			}
			if i == 0 && findLog(entries, "migration applied") == nil {
				t.Errorf("serve --migrate on an empty database logged no applied migration:\n%s", p.logs.String())
			}
			if findLog(entries, "stopped") == nil {
				t.Errorf("log does not say stopped:\n%s", p.logs.String())
			}
			logged := false
			for _, e := range entries {
				logged = logged || (e["msg"] == "http" && e["path"] == "/v1/me" && e["status"] == float64(200) && e["request_id"] != "")
			}
			if !logged {
				t.Errorf("no access log line for GET /v1/me with its status and request id:\n%s", p.logs.String())
			}
			// Spans buffered at shutdown were flushed before the process exited.
			traced := map[string]bool{}
			for _, s := range collector.Spans()[spansBefore:] {
				traced[s.GetName()] = true
			}
			if want := (i == 0); traced["GET /v1/me"] != want || traced["lookfor.v1.IdentityService/WhoAmI"] != want {
				t.Errorf("run %d: traced %v, want the REST and gRPC spans of GET /v1/me: %v", i+1, traced, want)
			}
			if out := p.stdout.String(); out != "" {
				t.Errorf("serve wrote to stdout: %s", out)
			}
		})
	}
}

func TestServeFlagBeatsEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := pgtest.NewDatabase(t)
	jwks, _ := devKeys(t, dir)

	// The environment names an address that is taken: if it won, serve could not listen.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	flagAddr := freeAddr(t)
	p := startServe(t, dir,
		[]string{"DATABASE_URL=" + db, "LOOKFOR_GRPC_ADDR=" + freeAddr(t), "LOOKFOR_HTTP_ADDR=" + taken.Addr().String(),
			"LOOKFOR_LOG_FORMAT=console"},
		"--jwks-file", jwks, "--http-addr", flagAddr, "--log-format", "json")
	p.waitReady(t, "http://"+flagAddr)
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d, want 0\nlogs:\n%s", code, p.logs.String())
	}
	// --log-format json beat LOOKFOR_LOG_FORMAT=console: every line is JSON.
	entries := p.logEntries(t)
	if s := findLog(entries, "serving"); s == nil || s["http"] != flagAddr {
		t.Errorf("serving log does not show http %s:\n%s", flagAddr, p.logs.String())
	}
}

// --- 5. graceful drain ----------------------------------------------------------------------

// notServed reports whether err means the request never reached a handler: the connection was
// refused, or reset/closed before any response byte (a connection still in the listen backlog
// when the listener closed; when the reset comes before the client has written its request,
// the write fails with EPIPE).
func notServed(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF)
}

func TestServeDrainsOnSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := pgtest.NewDatabase(t)
	jwks, users := devKeys(t, dir)
	httpAddr := freeAddr(t)
	base := "http://" + httpAddr
	p := startServe(t, dir,
		[]string{"DATABASE_URL=" + db, "LOOKFOR_GRPC_ADDR=" + freeAddr(t), "LOOKFOR_HTTP_ADDR=" + httpAddr},
		"--migrate", "--jwks-file", jwks)
	p.waitReady(t, base)
	mustRun(t, dir, []string{"DATABASE_URL=" + db}, "seed")
	token := users["coach"].token

	const workers = 20
	var (
		ok, okAfterSignal atomic.Int64
		signalled         atomic.Bool
		mu                sync.Mutex
		failures          []string
		wg                sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A new connection per request: after shutdown begins, a request either was accepted (and
	// must be answered in full) or finds the port closed.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+rubricPath, nil)
				if err != nil {
					fail("%v", err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						fail("still serving after 30s")
					} else if !notServed(err) || !signalled.Load() {
						fail("request failed: %v", err)
					}
					return
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode != http.StatusOK:
					fail("status %d: %s", resp.StatusCode, body)
					return
				case rerr != nil:
					fail("truncated body after %d bytes: %v", len(body), rerr)
					return
				case resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength:
					fail("body %d bytes, Content-Length %d", len(body), resp.ContentLength)
					return
				case !json.Valid(body) || !bytes.Contains(body, []byte(`"k8-academic-discourse"`)):
					fail("bad body: %.200s", body)
					return
				}
				ok.Add(1)
				if signalled.Load() {
					okAfterSignal.Add(1)
				}
			}
		}()
	}
	close(start)
	// Signal once the burst is well under way.
	for ok.Load() < 2*workers && ctx.Err() == nil && !p.exited() {
		time.Sleep(time.Millisecond)
	}
	signalled.Store(true)
	code := p.stop(t, syscall.SIGTERM)
	wg.Wait()

	for i, f := range failures {
		if i == 5 {
			t.Errorf("… and %d more failed requests", len(failures)-i)
			break
		}
		t.Error(f)
	}
	if ok.Load() < 2*workers {
		t.Errorf("only %d requests succeeded before shutdown", ok.Load())
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if findLog(p.logEntries(t), "stopped") == nil {
		t.Errorf("log does not say stopped")
	}
	t.Logf("%d requests answered, %d of them after SIGTERM was sent", ok.Load(), okAfterSignal.Load())
	if t.Failed() {
		t.Logf("logs:\n%s", p.logs.String())
	}
}

// --- 6. unreachable database ----------------------------------------------------------------

func TestServeUnreachableDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jwks, _ := devKeys(t, dir)
	start := time.Now()
	r := run(t, dir,
		[]string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/x", "LOOKFOR_GRPC_ADDR=" + freeAddr(t), "LOOKFOR_HTTP_ADDR=" + freeAddr(t)},
		"serve", "--jwks-file", jwks)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("took %v to give up on an unreachable database", took)
	}
	if r.code == 0 {
		t.Fatalf("serve with an unreachable database exited 0\nstderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "PostgreSQL") {
		t.Errorf("stderr does not mention PostgreSQL:\n%s", r.stderr)
	}
}
