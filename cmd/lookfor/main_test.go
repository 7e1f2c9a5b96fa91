package main

// These tests build the real lookfor binary once and run it as a separate process, the way an
// operator would: flags, environment fallbacks, exit codes, stdout/stderr, signals.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
)

// lookforBin is the binary built by TestMain.
var lookforBin string

// TestMain builds the binary, runs the tests and removes the binary again.
//
// It calls m.Run itself instead of pgtest.Main so the build directory can be removed (pgtest.Main
// calls os.Exit). That is only correct because these tests create databases with
// pgtest.NewDatabase alone and migrate them with the binary under test: no pgtest template
// database is ever created, so there is none to drop. Do not use pgtest.NewMigratedDatabase or
// pgtest.NewStore here without switching back to pgtest.Main.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lookfor-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "main_test:", err)
		os.Exit(2)
	}
	lookforBin = filepath.Join(dir, "lookfor")
	build := exec.Command("go", "build", "-o", lookforBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "main_test: go build: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// --- running the binary ---------------------------------------------------------------------

// baseEnv is this process's environment without anything lookfor reads, so the tests alone
// decide the configuration.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "DATABASE_URL" || strings.HasPrefix(name, "LOOKFOR_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary to completion (bounded by a minute) in dir with env added to baseEnv.
func run(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lookforBin, args...)
	cmd.Dir = dir
	cmd.Env = baseEnv(env...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("lookfor %s: timed out\nstderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("lookfor %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// mustRun is run that requires exit code 0.
func mustRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	r := run(t, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("lookfor %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// mustFail is run that requires a non-zero exit code and stderr containing want.
func mustFail(t *testing.T, dir string, env []string, want string, args ...string) {
	t.Helper()
	r := run(t, dir, env, args...)
	if r.code == 0 {
		t.Fatalf("lookfor %s: exit 0, want failure\nstdout:\n%s", strings.Join(args, " "), r.stdout)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("lookfor %s: stderr does not mention %q:\n%s", strings.Join(args, " "), want, r.stderr)
	}
}

// syncBuffer is a bytes.Buffer safe for the copying goroutine of exec and a reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running `lookfor serve`.
type proc struct {
	cmd    *exec.Cmd
	logs   *syncBuffer // stderr
	stdout *syncBuffer
	done   chan struct{} // closed when the process has exited
}

// startServe starts `lookfor serve args…`; it is killed when the test ends if still running.
func startServe(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{logs: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(lookforBin, append([]string{"serve"}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = baseEnv(env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.logs
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("lookfor serve (pid %d) did not exit after SIGKILL", p.cmd.Process.Pid)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady polls GET base/readyz until it answers 200, for at most 30 seconds.
func (p *proc) waitReady(t *testing.T, base string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("lookfor serve exited early (%v)\nlogs:\n%s", p.cmd.ProcessState, p.logs.String())
		}
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s/readyz did not answer 200 within 30s\nlogs:\n%s", base, p.logs.String())
}

// stop sends sig and waits (at most 30 seconds) for the process to exit; it returns the exit code.
func (p *proc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v\nlogs:\n%s", sig, err, p.logs.String())
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("lookfor serve did not exit within 30s of %v\nlogs:\n%s", sig, p.logs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// logEntries parses every stderr line as a JSON log entry with a "msg", failing on any other line.
func (p *proc) logEntries(t *testing.T) []map[string]any {
	t.Helper()
	var entries []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("log line is not JSON (%v): %s", err, line)
			continue
		}
		if msg, ok := e["msg"].(string); !ok || msg == "" {
			t.Errorf("log line has no msg: %s", line)
			continue
		}
		entries = append(entries, e)
	}
	return entries
}

// findLog returns the first entry with the message msg.
func findLog(entries []map[string]any, msg string) map[string]any {
	for _, e := range entries {
		if e["msg"] == msg {
			return e
		}
	}
	return nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// --- dev keys and tokens --------------------------------------------------------------------

type demoUser struct{ role, user, token string }

// devKeys creates a dev key in dir/keys and returns its JWKS path and the demo users by role.
func devKeys(t *testing.T, dir string) (jwks string, users map[string]demoUser) {
	t.Helper()
	keyDir := filepath.Join(dir, "keys")
	users = map[string]demoUser{}
	for _, line := range strings.Split(strings.TrimSpace(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--demo")), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("token --demo line %q: want role\\tuser\\ttoken", line)
		}
		users[f[0]] = demoUser{role: f[0], user: f[1], token: f[2]}
	}
	jwks = strings.TrimSpace(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--jwks-path"))
	return jwks, users
}

// get does GET base+path with an optional bearer token and returns the status and body.
func get(t *testing.T, base, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp.StatusCode, body
}

const (
	rubricPath = "/v1/rubrics/k8-academic-discourse/versions/latest"
	seedCounts = "3 districts, 12 sites, 150 classrooms, 171 staff"
)

// --- 1. migrate -----------------------------------------------------------------------------

func TestMigrate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := pgtest.NewDatabase(t)
	env := []string{"DATABASE_URL=" + db}

	files := migrationFiles(t)
	n := len(files)
	pending := regexp.MustCompile(`^\s*\d+\s+\S+\.sql\s+pending$`)
	applied := regexp.MustCompile(`^\s*\d+\s+\S+\.sql\s+applied \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
	// status checks that the first k migrations are applied and the rest pending.
	status := func(k int, env []string, extra ...string) {
		t.Helper()
		out := mustRun(t, dir, env, append([]string{"migrate", "status"}, extra...)...)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != n {
			t.Fatalf("migrate status: want %d lines:\n%s", n, out)
		}
		for i, l := range lines {
			want := pending
			if i < k {
				want = applied
			}
			if !want.MatchString(l) || !strings.Contains(l, files[i]) {
				t.Fatalf("migrate status line %d does not match %s for %s:\n%s", i, want, files[i], out)
			}
		}
	}
	version := func(out string, v int) {
		t.Helper()
		if want := fmt.Sprintf("database at version %d\n", v); !strings.HasSuffix(out, want) {
			t.Fatalf("output does not end with %q:\n%s", want, out)
		}
	}

	status(0, env)
	out := mustRun(t, dir, env, "migrate", "up")
	for _, f := range files {
		if !strings.Contains(out, "applied "+f+" (") {
			t.Errorf("migrate up does not report %s:\n%s", f, out)
		}
	}
	version(out, n)
	status(n, env)
	// --database-url and LOOKFOR_DATABASE_URL are other ways to name the database.
	status(n, nil, "--database-url", db)
	out = mustRun(t, dir, []string{"LOOKFOR_DATABASE_URL=" + db}, "migrate", "down")
	if !strings.HasPrefix(out, "rolled back "+files[n-1]) {
		t.Errorf("migrate down does not report the rolled-back migration %s:\n%s", files[n-1], out)
	}
	version(out, n-1)
	status(n-1, env)
	version(mustRun(t, dir, env, "migrate", "up"), n)
	status(n, env)

	// A second up has nothing to apply and stays at the newest version.
	out = mustRun(t, dir, env, "migrate", "up")
	if out != fmt.Sprintf("database at version %d\n", n) {
		t.Errorf("second migrate up:\n%s", out)
	}

	mustFail(t, dir, nil, "DATABASE_URL", "migrate", "up")
	mustFail(t, dir, nil, "DATABASE_URL", "migrate", "status")
	mustFail(t, dir, env, `unknown action "sideways"`, "migrate", "sideways")
	mustFail(t, dir, nil, `unknown action "sideways"`, "migrate", "sideways") // no database needed to say so
	mustFail(t, dir, env, "arg", "migrate")
}

// --- 2. seed --------------------------------------------------------------------------------

func TestSeedTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + pgtest.NewDatabase(t)}
	version := mustRun(t, dir, env, "migrate", "up")
	if !strings.HasSuffix(version, fmt.Sprintf("database at version %d\n", len(migrationFiles(t)))) {
		t.Fatalf("migrate up:\n%s", version)
	}
	first := mustRun(t, dir, env, "seed")
	second := mustRun(t, dir, env, "seed")
	if !strings.Contains(first, seedCounts) {
		t.Errorf("first seed: want %q in:\n%s", seedCounts, first)
	}
	if first != second {
		t.Errorf("seed is not idempotent:\nfirst:  %s\nsecond: %s", first, second)
	}
	mustFail(t, dir, nil, "DATABASE_URL", "seed")
}

// --- 3. token -------------------------------------------------------------------------------

// tokenKID returns the kid of a JWT's header.
func tokenKID(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h struct {
		Alg, Kid string
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	if h.Kid == "" || h.Alg == "" {
		t.Fatalf("token header without alg/kid: %s", b)
	}
	return h.Kid
}

func TestToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")

	out := mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--demo")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	wantRoles := []string{"coach", "principal", "district_admin", "network_analyst", "admin"}
	if len(lines) != len(wantRoles) {
		t.Fatalf("token --demo printed %d lines, want %d:\n%s", len(lines), len(wantRoles), out)
	}
	var kid string
	for i, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("line %q: want role\\tuser\\ttoken", line)
		}
		if f[0] != wantRoles[i] {
			t.Errorf("line %d role %q, want %q", i, f[0], wantRoles[i])
		}
		if f[1] == "" {
			t.Errorf("line %d has no user", i)
		}
		k := tokenKID(t, f[2])
		if kid == "" {
			kid = k
		} else if k != kid {
			t.Errorf("tokens signed with different keys: %s, %s", kid, k)
		}
	}

	fi, err := os.Stat(filepath.Join(keyDir, identity.DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("private key mode %v, want 0600", perm)
	}

	jwksPath := strings.TrimSpace(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--jwks-path"))
	if filepath.Dir(jwksPath) != keyDir {
		t.Errorf("--jwks-path %q is not in %s", jwksPath, keyDir)
	}
	b, err := os.ReadFile(jwksPath)
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &jwks); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, b)
	}
	if len(jwks.Keys) == 0 {
		t.Fatalf("JWKS has no keys: %s", b)
	}
	if jwks.Keys[0].Kid != kid {
		t.Errorf("JWKS kid %q, tokens signed with %q", jwks.Keys[0].Kid, kid)
	}
	if jwks.Keys[0].D != "" {
		t.Errorf("JWKS publishes the private key")
	}

	// The key is reused, not regenerated.
	again := strings.Split(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--demo"), "\n")[0]
	if k := tokenKID(t, strings.Split(again, "\t")[2]); k != kid {
		t.Errorf("second run signed with %q, first with %q", k, kid)
	}

	// One token for a given principal.
	one := strings.TrimSpace(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--role", "coach", "--user", "u-1", "--district", "d-1"))
	if tokenKID(t, one) != kid {
		t.Errorf("single token signed with another key")
	}

	mustFail(t, dir, nil, "--role", "token", "--key-dir", keyDir, "--role", "nonsense", "--user", "u-1")
	mustFail(t, dir, nil, "--user", "token", "--key-dir", keyDir, "--role", "coach")
	mustFail(t, dir, []string{"LOOKFOR_ROLE=nonsense", "LOOKFOR_USER=u-1"}, "--role", "token", "--key-dir", keyDir)
}

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

	for i, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
			base := "http://" + httpAddr
			// The addresses are given only through the environment.
			p := startServe(t, dir,
				[]string{"DATABASE_URL=" + db, "LOOKFOR_GRPC_ADDR=" + grpcAddr, "LOOKFOR_HTTP_ADDR=" + httpAddr},
				"--migrate", "--jwks-file", jwks, "--jwt-issuer", "lookfor-dev")
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
// when the listener closed).
func notServed(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
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

// migrationFiles lists the embedded migrations in order, as the binary applies them.
func migrationFiles(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("..", "..", "store", "migrations", "*.sql"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}
