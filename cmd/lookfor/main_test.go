package main

// These tests build the real lookfor binary once and run it as a separate process, the way an
// operator would: flags, environment fallbacks, exit codes, stdout/stderr, signals.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
	// Static, as the container image holds it (TestImageBinaryRunsWithoutLibc runs this binary
	// with nothing else on the file system).
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
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

// run runs the binary to completion (bounded by five minutes) in dir with env added to baseEnv.
func run(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a hang guard, not a measure: 10,000 fsynced records take a minute on a busy machine
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

// migrationVersion is the version goose reads from a migration file's name (its number).
func migrationVersion(t *testing.T, file string) int {
	t.Helper()
	num, _, _ := strings.Cut(file, "_")
	v, err := strconv.Atoi(num)
	if err != nil {
		t.Fatalf("migration %s has no version number", file)
	}
	return v
}
