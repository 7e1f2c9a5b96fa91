// Package browser runs the browser tests of the front ends in web/: a real lookfor server on
// loopback (a fresh database with the demo network), a real OpenID Provider whose demo people
// sign in through lookfor's web sign-in, and Node scripts under web/test that drive Debian's
// headless Chromium with playwright-core.
//
// It is a development tool: it may import any lookfor package; only tests import it.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/oidcprovider"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/server"
)

// Password is every demo person's password at the test provider.
const Password = "demo"

// Chromium is the browser the scripts drive (Debian's package; scripts/web.sh deps installs it).
const Chromium = "/usr/bin/chromium"

// Env is a running server whose pages the demo people can sign in to.
type Env struct {
	*testenv.Env
	Provider *oidcprovider.Provider
}

// Start starts the provider and the server. Options adjust the server config as testenv's do.
func Start(t testing.TB, opts ...testenv.Option) *Env {
	t.Helper()
	httpAddr := testenv.FreePort(t)
	base := "http://" + httpAddr
	client := oidcprovider.Client{ID: "lookfor-web", Secret: "lookfor-web-test-secret", RedirectURIs: []string{base + "/auth/callback"}}
	op, err := oidcprovider.Start("127.0.0.1:0", oidcprovider.DemoUsers(demo.Network(), Password), []oidcprovider.Client{client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	all := append([]testenv.Option{func(c *server.Config) {
		c.HTTPAddr = httpAddr
		c.Web = server.WebConfig{WebConfig: identity.WebConfig{Issuer: op.Issuer, ClientID: client.ID, ClientSecret: client.Secret,
			RedirectURL: base + "/auth/callback"}, CookieSecure: false}
		// The pages' provider is the network's own: its people link by verified email, as
		// `lookfor serve --oidc-issuer` sets it up.
		c.NetworkIssuers = append(c.NetworkIssuers, identity.Trust{Issuer: op.Issuer, LinkClaim: identity.LinkEmail})
	}}, opts...)
	return &Env{Env: testenv.Start(t, all...), Provider: op}
}

// Node runs web/test/<script> with BASE_URL (the server), PASSWORD and env ("K=V") and fails
// the test if it exits non-zero. The script's output is the test's log.
func (e *Env) Node(t testing.TB, script string, env ...string) {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Fatalf("%s is missing: run scripts/web.sh deps (make test does) to install Chromium and the npm packages", Chromium)
	}
	root := repoRoot()
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		t.Fatal("web/node_modules is missing: run scripts/web.sh deps (make test does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("test", script))
	cmd.Dir = filepath.Join(root, "web")
	cmd.Env = append(os.Environ(), append([]string{"BASE_URL=" + e.BaseURL, "PASSWORD=" + Password, "CHROMIUM=" + Chromium}, env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Log(out.String())
	if err != nil {
		t.Fatalf("node test/%s: %v", script, err)
	}
}

// repoRoot is the repository's top directory (this file is internal/browser/browser.go).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// String names the environment in logs.
func (e *Env) String() string { return fmt.Sprintf("lookfor at %s, %s", e.BaseURL, e.Provider) }
