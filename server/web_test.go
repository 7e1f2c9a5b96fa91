package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/oidcprovider"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
)

// recorder keeps the Set-Cookie headers a browser receives.
type recorder struct {
	mu      sync.Mutex
	cookies []string
}

func (rc *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		rc.mu.Lock()
		rc.cookies = append(rc.cookies, resp.Header.Values("Set-Cookie")...)
		rc.mu.Unlock()
	}
	return resp, err
}

// TestWebSignIn: the pages sign in at the district's identity provider (a real OpenID Provider
// on loopback) through lookfor's relying party: authorization code with PKCE, state and nonce.
// The session cookie is HttpOnly and SameSite=Lax (Secure is off only on loopback), the gateway
// accepts it beside bearer tokens, calls that change something need the CSRF token, signing out
// ends the session on the server, and a person the roster does not know gets no session.
func TestWebSignIn(t *testing.T) {
	t.Parallel()
	httpAddr := testenv.FreePort(t)
	base := "http://" + httpAddr
	web := oidcprovider.Client{ID: "lookfor-web", Secret: "web-secret", RedirectURIs: []string{base + "/auth/callback"}}
	var coachEmail string
	e0 := demo.Network()
	for _, s := range e0.Staff {
		if s.ID == "riverbend-usd.coach-1" {
			coachEmail = s.Email
		}
	}
	op, err := oidcprovider.Start("127.0.0.1:0", []oidcprovider.User{
		{Subject: "w-1", Username: "coach", Password: "pw", Email: coachEmail, EmailVerified: true},
		{Subject: "w-2", Username: "stranger", Password: "pw", Email: "stranger@example.org", EmailVerified: true},
	}, []oidcprovider.Client{web})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	e := testenv.Start(t, func(c *server.Config) {
		c.HTTPAddr = httpAddr
		c.Web = server.WebConfig{WebConfig: identity.WebConfig{Issuer: op.Issuer, ClientID: web.ID, ClientSecret: web.Secret,
			RedirectURL: base + "/auth/callback"}, CookieSecure: false}
	})
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	if err := e.Store.TrustIssuer(ctx, identity.Trust{DistrictID: coach.DistrictID, Issuer: op.Issuer, Audiences: []string{web.ID}}); err != nil {
		t.Fatal(err)
	}

	browser := func() (*http.Client, *recorder) {
		jar, _ := cookiejar.New(nil)
		rec := &recorder{}
		return &http.Client{Jar: jar, Transport: rec}, rec
	}
	call := func(c *http.Client, method, path, body string, headers ...string) (int, string) {
		t.Helper()
		return browserCall(t, c, method, base+path, body, headers...)
	}
	signIn := func(c *http.Client, user string) {
		t.Helper()
		// BrowseTo follows the provider's redirect back to /auth/callback (which sets the session)
		// and stops where the callback sends the browser: the return_to page.
		if _, err := oidcprovider.BrowseTo(ctx, base+"/auth/login?return_to=/v1/me", base+"/v1/me", user, "pw", c.Jar); err != nil {
			t.Fatal(err)
		}
	}

	// Not signed in: no session, 401.
	anon, _ := browser()
	if code, body := call(anon, http.MethodGet, "/v1/me", ""); code != http.StatusUnauthorized {
		t.Fatalf("/v1/me without a session: %d %s", code, body)
	}

	if code, body := call(anon, http.MethodPost, "/v1/sync:registerDevice", `{}`); code != http.StatusUnauthorized {
		t.Fatalf("write without a session or token: %d %s, want 401", code, body)
	}

	c, rec := browser()
	signIn(c, "coach")
	code, body := call(c, http.MethodGet, "/v1/me", "")
	if code != http.StatusOK || !strings.Contains(body, `"user_id":"`+coach.UserID+`"`) {
		t.Fatalf("/v1/me with the session: %d %s", code, body)
	}
	var session string
	for _, sc := range rec.cookies {
		if strings.HasPrefix(sc, "lookfor_session=") {
			session = sc
		}
	}
	low := strings.ToLower(session)
	if session == "" || !strings.Contains(low, "httponly") || !strings.Contains(low, "samesite=lax") || strings.Contains(low, "secure;") {
		t.Fatalf("session cookie %q: want HttpOnly, SameSite=Lax, not Secure on loopback", session)
	}

	// A state-changing call with the cookie needs the CSRF token.
	device := `{"device_id":"019a0000-0000-7000-8000-00000000b001","schema_version":1}`
	if code, body := call(c, http.MethodPost, "/v1/sync:registerDevice", device); code != http.StatusForbidden || !strings.Contains(body, "CSRF_TOKEN") {
		t.Fatalf("cookie write without CSRF token: %d %s", code, body)
	}
	_, sb := call(c, http.MethodGet, "/auth/session", "")
	var s struct {
		SignedIn  bool   `json:"signed_in"`
		UserID    string `json:"user_id"`
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(sb), &s); err != nil || !s.SignedIn || s.UserID != coach.UserID || s.CSRFToken == "" {
		t.Fatalf("/auth/session: %s (%v)", sb, err)
	}
	if code, body := call(c, http.MethodPost, "/v1/sync:registerDevice", device, "X-CSRF-Token", s.CSRFToken); code != http.StatusOK {
		t.Fatalf("cookie write with the CSRF token: %d %s", code, body)
	}
	// Bearer calls need no CSRF token.
	if r := e.Do(t, http.MethodPost, "/v1/sync:registerDevice", e.TokenFor(t, observation.RoleCoach),
		`{"device_id":"019a0000-0000-7000-8000-00000000b002","schema_version":1}`); r.Status != http.StatusOK {
		t.Fatalf("bearer write: %d %s", r.Status, r.Body)
	}
	// A client cannot smuggle a session identity past the gateway.
	if r := e.Do(t, http.MethodGet, "/v1/me", "", "", "Grpc-Metadata-X-Lookfor-Session-Sub: "+coach.UserID,
		"Grpc-Metadata-X-Lookfor-Session-Iss: "+op.Issuer); r.Status != http.StatusUnauthorized {
		t.Fatalf("smuggled session metadata: %d %s", r.Status, r.Body)
	}

	// Signing out ends the session on the server: the old cookie value is worthless.
	u, _ := url.Parse(base)
	old := c.Jar.Cookies(u)
	if code, body := call(c, http.MethodPost, "/auth/logout", "", "X-CSRF-Token", s.CSRFToken); code != http.StatusOK {
		t.Fatalf("logout: %d %s", code, body)
	}
	replay, _ := browser()
	replay.Jar.SetCookies(u, old)
	if code, body := call(replay, http.MethodGet, "/v1/me", ""); code != http.StatusUnauthorized {
		t.Fatalf("the signed-out cookie still works: %d %s", code, body)
	}

	// Someone the roster does not know: refused, and no session.
	st, _ := browser()
	u2, err := oidcprovider.BrowseTo(ctx, base+"/auth/login", base+"/nowhere", "stranger", "pw", st.Jar)
	if err == nil {
		t.Fatalf("stranger reached %s", u2)
	}
	if code, _ := call(st, http.MethodGet, "/v1/me", ""); code != http.StatusUnauthorized {
		t.Fatalf("stranger's /v1/me: %d", code)
	}
}
