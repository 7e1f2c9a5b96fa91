package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/oidcprovider"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
)

// TestTwoServeProcessesFollowIdentityAndRoster: two `lookfor serve` processes on one database.
// A district administrator, calling the first, trusts the district's identity provider (a real
// OpenID Provider on loopback) and gives it a web client; the second process accepts the
// provider's tablet token at its very next call and sends the pages' sign-in for that district
// to the provider. Then the administrator removes a site from the coach on the first process:
// the coach's next call on the second shows it gone.
func TestTwoServeProcessesFollowIdentityAndRoster(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := pgtest.NewDatabase(t)
	jwks, users := devKeys(t, dir)
	env := []string{"DATABASE_URL=" + db}
	mustRun(t, dir, env, "migrate", "up")
	mustRun(t, dir, env, "seed")

	const district = "riverbend-usd"
	coach, da := users["coach"], users["district_admin"]
	var email string
	var sites []string
	for _, s := range demo.Network().Staff {
		if s.ID == coach.user {
			email, sites = s.Email, s.SiteIDs
		}
	}
	if email == "" || len(sites) < 2 {
		t.Fatalf("demo coach %s: email %q, sites %v", coach.user, email, sites)
	}

	secrets := filepath.Join(dir, "oidc-secrets")
	if err := os.MkdirAll(filepath.Join(secrets, district), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, district, "web"), []byte("web-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	var bases []string
	for range 2 {
		bases = append(bases, "http://"+freeAddr(t))
	}
	tablet := oidcprovider.Client{ID: "tablet", RedirectURIs: []string{"http://127.0.0.1/callback"}}
	op, err := oidcprovider.Start("127.0.0.1:0", []oidcprovider.User{{Subject: "c-1", Username: "coach", Password: "pw", Email: email, EmailVerified: true}},
		[]oidcprovider.Client{tablet, {ID: "web", Secret: "web-secret", RedirectURIs: []string{bases[0] + "/auth/callback", bases[1] + "/auth/callback"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	for _, base := range bases {
		p := startServe(t, dir, append(env, "LOOKFOR_GRPC_ADDR="+freeAddr(t), "LOOKFOR_HTTP_ADDR="+strings.TrimPrefix(base, "http://")),
			"--jwks-file", jwks, "--jwt-issuer", "lookfor-dev", "--oidc-redirect-url", base+"/auth/callback",
			"--oidc-secrets-dir", secrets, "--session-cookie-insecure")
		p.waitReady(t, base)
	}
	toks, err := op.SignIn(context.Background(), tablet, "coach", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, bases[1], "/v1/me", toks.IDToken); status != http.StatusUnauthorized || !strings.Contains(string(body), "TOKEN_ISSUER") {
		t.Fatalf("untrusted provider on the second process: %d %s", status, body)
	}

	put := func(base, path, token, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, b)
		}
	}
	put(bases[0], "/v1/districts/"+district+"/identity", da.token, `{"issuers":[{"issuer":"`+op.Issuer+
		`","audiences":["web","tablet"],"web_client_id":"web","web_client_secret_ref":"web"}]}`)

	me := func() (user string, sites []string) {
		t.Helper()
		status, body := get(t, bases[1], "/v1/me", toks.IDToken)
		var out struct {
			UserID  string   `json:"user_id"`
			SiteIDs []string `json:"site_ids"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
			t.Fatalf("/v1/me with the provider's token on the second process: %d %s", status, body)
		}
		return out.UserID, out.SiteIDs
	}
	if user, got := me(); user != coach.user || len(got) != len(sites) {
		t.Fatalf("second process: %s with sites %v, want %s with %v", user, got, coach.user, sites)
	}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(bases[1] + "/auth/login?district=" + district)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, op.Issuer+"/") {
		t.Fatalf("web sign-in for %s on the second process: %d to %q", district, resp.StatusCode, loc)
	}

	put(bases[0], "/v1/districts/"+district+"/staff/"+coach.user, da.token,
		`{"staff_id":"`+coach.user+`","given_name":"Coach","email":"`+email+`","role":"STAFF_ROLE_COACH","site_ids":["`+sites[0]+`"]}`)
	if _, got := me(); len(got) != 1 || got[0] != sites[0] {
		t.Fatalf("second process after the site removal: sites %v, want [%s]", got, sites[0])
	}
}
