// Package testenv starts a real lookfor server for end-to-end tests: a fresh migrated database
// seeded with the default rubric and the demo network, a dev signing key, gRPC and REST on
// loopback ports, and tokens for any principal.
//
// It is a development tool: it may import any lookfor package; only cmd/, other development
// tools and tests import it.
package testenv

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/store"
)

// Issuer and Audience are what test servers require of tokens.
const (
	Issuer   = "lookfor-test"
	Audience = "lookfor"
)

// Env is a running server and what a test needs to talk to it.
type Env struct {
	Store   *store.Store
	Key     identity.DevKey
	Roster  demo.Roster
	Users   map[observation.Role]observation.Principal // one demo user per role
	GRPC    *grpc.ClientConn                           // a plain client connection to the gRPC port
	BaseURL string                                     // http://127.0.0.1:PORT of the REST gateway
	Server  *server.Server
	stop    context.CancelFunc
	done    chan error
	dbURL   string
}

// Option adjusts the server config before start.
type Option func(*server.Config)

// Start launches a seeded server for t and stops it when t ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return seeded(t, pgtest.NewStore(t), opts...)
}

// StartOn is Start on a database of the test's own (another cluster's, e.g. the primary of
// pgtest.Replicated), opened with sopts and migrated first.
func StartOn(t testing.TB, databaseURL string, sopts store.Options, opts ...Option) *Env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, databaseURL, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	m, err := st.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	return seeded(t, st, opts...)
}

// seeded seeds st with the default rubric and the demo network and starts a server on it.
func seeded(t testing.TB, st *store.Store, opts ...Option) *Env {
	t.Helper()
	ctx := context.Background()
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	roster := demo.Network()
	if err := st.UpsertRoster(ctx, store.Roster{Districts: roster.Districts, Sites: roster.Sites, Classrooms: roster.Classrooms, Staff: roster.Staff, NetworkStaff: roster.NetworkStaff}); err != nil {
		t.Fatal(err)
	}
	key, _, err := identity.EnsureDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return start(t, st, key, roster, nil, opts...)
}

// Second starts another server on e's database, trusting the same signing key: two server
// processes behind one load balancer.
func (e *Env) Second(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return e.SecondWith(t, store.Options{}, nil, opts...)
}

// SecondWith is Second with the store opened with sopts (a tracer, a read replica) and the
// server logging to log (nil: the test's log, warnings and up).
func (e *Env) SecondWith(t testing.TB, sopts store.Options, log *zap.Logger, opts ...Option) *Env {
	t.Helper()
	st, err := store.Open(context.Background(), e.dbURL, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return start(t, st, e.Key, e.Roster, log, opts...)
}

// DatabaseURL is the URL of e's database.
func (e *Env) DatabaseURL() string { return e.dbURL }

func start(t testing.TB, st *store.Store, key identity.DevKey, roster demo.Roster, log *zap.Logger, opts ...Option) *Env {
	t.Helper()
	ctx := context.Background()
	jwksPath := filepath.Join(t.TempDir(), "jwks.json")
	raw, err := key.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jwksPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	jwks := jwksPath
	network, err := identity.NewVerifier(ctx, identity.Config{Issuer: Issuer, Audience: Audience, JWKSFile: jwks})
	if err != nil {
		t.Fatal(err)
	}
	// Tokens of the test issuer, and of any identity provider a district's settings trust.
	vctx, vstop := context.WithCancel(ctx)
	t.Cleanup(vstop)
	verifier, err := identity.NewTrusted(vctx, identity.TrustedConfig{Network: network, Source: st})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.ShutdownTimeout = "127.0.0.1:0", "127.0.0.1:0", 5*time.Second
	// Test tokens link by subject: the staff id, as lookfor token's development tokens do.
	cfg.NetworkIssuers = []identity.Trust{{Issuer: Issuer, LinkClaim: identity.LinkSubject}}
	for _, o := range opts {
		o(&cfg)
	}
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	srv, err := server.New(cfg, log, st, verifier)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	e := &Env{Store: st, Key: key, Roster: roster, Server: srv, stop: stop, done: make(chan error, 1), dbURL: st.Pool().Config().ConnString(),
		Users: map[observation.Role]observation.Principal{}}
	for _, u := range demo.Principals(roster) {
		e.Users[u.Principal.Role] = u.Principal
	}
	go func() { e.done <- srv.Run(runCtx) }()
	select {
	case <-srv.Ready():
	case err := <-e.done:
		t.Fatalf("server did not start: %v", err)
	}
	grpcAddr, httpAddr := srv.Addrs()
	e.BaseURL = "http://" + httpAddr.String()
	e.GRPC, err = grpc.NewClient(grpcAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.GRPC.Close()
		if err := e.Stop(); err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	})
	return e
}

// Stop shuts the server down gracefully and returns Run's result. Stopping twice is harmless.
func (e *Env) Stop() error {
	e.stop()
	err, ok := <-e.done
	if !ok {
		return nil
	}
	close(e.done)
	return err
}

// Token puts p on the roster (EnsureRoster) and mints a valid token for it. The token's role,
// district and site claims are ignored by the server: p's scope comes from the roster record.
func (e *Env) Token(t testing.TB, p observation.Principal) string {
	t.Helper()
	e.EnsureRoster(t, p)
	return e.TokenOnly(t, p)
}

// EnsureRoster makes the roster say what p says: a staff record p.UserID in p.DistrictID with
// p's role and exactly p's sites (a network-level record for network analysts and admins).
func (e *Env) EnsureRoster(t testing.TB, p observation.Principal) {
	t.Helper()
	if err := e.ensureRoster(p); err != nil {
		t.Fatalf("putting %s (%s) on the roster: %v", p.UserID, p.Role, err)
	}
}

func (e *Env) ensureRoster(p observation.Principal) error {
	st := identity.Staff{DistrictID: p.DistrictID, StaffID: p.UserID, Role: string(p.Role), SiteIDs: p.SiteIDs}
	if p.Role == observation.RoleNetworkAnalyst || p.Role == observation.RoleAdmin {
		st.DistrictID, st.SiteIDs = observation.NetworkOwner, nil
	}
	if p.Role == observation.RoleDistrictAdmin {
		st.SiteIDs = nil
	}
	return e.Store.EnsureStaff(context.Background(), st)
}

// TokenOnly mints a valid token for p.UserID without touching the roster.
func (e *Env) TokenOnly(t testing.TB, p observation.Principal) string {
	t.Helper()
	tok, err := e.Key.Mint(p, Issuer, Audience, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TokenFor mints a token for the demo user of role.
func (e *Env) TokenFor(t testing.TB, role observation.Role) string {
	t.Helper()
	p, ok := e.Users[role]
	if !ok {
		t.Fatalf("no demo user for role %s", role)
	}
	return e.Token(t, p)
}

// Ctx returns a context carrying the bearer token (and any extra metadata pairs) for gRPC calls.
func Ctx(token string, kv ...string) context.Context {
	md := metadata.Pairs(append([]string{"authorization", "Bearer " + token}, kv...)...)
	return metadata.NewOutgoingContext(context.Background(), md)
}

// Response is a completed REST call.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a REST request to the gateway. token may be empty; headers are "Key: value" pairs.
func (e *Env) Do(t testing.TB, method, path, token, body string, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			t.Fatalf("bad header %q", h)
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// FreePort returns a loopback address nothing listens on right now, for a test that must know its
// server's address before it starts (web sign-in's redirect URL).
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
