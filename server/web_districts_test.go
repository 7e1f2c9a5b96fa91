package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/oidcprovider"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
)

// Two districts with their own identity providers, as a Google district and an Entra district
// would have them: riverbend-usd signs in at "google" (its staff at riverbend.k12.test),
// mesa-verde-sd at "entra" (mesaverde.k12.test). "rogue" is a real provider nobody trusts.
const (
	riverbend, mesaVerde      = "riverbend-usd", "mesa-verde-sd"
	riverbendMail, mesaMail   = "riverbend.k12.test", "mesaverde.k12.test"
	googleWeb, entraWeb       = "google-web", "entra-web"
	tabletClientID, idpSecret = "lookfor-tablet", "web-secret"
	riverbendCoachEmail       = "coach1@" + riverbendMail
	riverbendPrincipalEmail   = "principal@" + riverbendMail
	mesaPrincipalEmail        = "principal@" + mesaMail
	webSecretRef, tabletRedir = "web-client-secret", "http://127.0.0.1/callback"
	secondTablet              = "lookfor-tablet-2" // registered at every provider, an audience of none at first
)

type districtIdPs struct {
	google, entra, rogue *oidcprovider.Provider
	secrets              string   // the servers' --oidc-secrets-dir
	bases                []string // http://127.0.0.1:PORT of each lookfor server
}

// startDistrictIdPs starts the three providers, with lookfor's web client registered for n
// servers' callbacks, and writes the districts' web client secrets where the servers read them.
func startDistrictIdPs(t *testing.T, n int) *districtIdPs {
	t.Helper()
	f := &districtIdPs{secrets: t.TempDir()}
	var callbacks []string
	for range n {
		base := "http://" + testenv.FreePort(t)
		f.bases = append(f.bases, base)
		callbacks = append(callbacks, base+"/auth/callback")
	}
	start := func(web string, users ...oidcprovider.User) *oidcprovider.Provider {
		for i := range users {
			users[i].Password = "pw"
		}
		op, err := oidcprovider.Start("127.0.0.1:0", users, []oidcprovider.Client{
			{ID: web, Secret: idpSecret, RedirectURIs: callbacks}, {ID: tabletClientID, RedirectURIs: []string{tabletRedir}},
			{ID: secondTablet, RedirectURIs: []string{tabletRedir}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { op.Close() })
		return op
	}
	f.google = start(googleWeb,
		oidcprovider.User{Subject: "g-coach", Username: "coach", Email: riverbendCoachEmail, EmailVerified: true},
		oidcprovider.User{Subject: "g-principal", Username: "principal", Email: riverbendPrincipalEmail, EmailVerified: true},
		oidcprovider.User{Subject: "g-unverified", Username: "unverified", Email: riverbendCoachEmail},
		oidcprovider.User{Subject: "g-stranger", Username: "stranger", Email: "nobody@" + riverbendMail, EmailVerified: true},
		oidcprovider.User{Subject: "g-outsider", Username: "outsider", Email: mesaPrincipalEmail, EmailVerified: true},
		oidcprovider.User{Subject: "g-nowhere", Username: "nowhere", Email: "someone@elsewhere.test", EmailVerified: true})
	// Entra ID sends no email_verified; xms_edov (the tenant owns the domain) stands for it.
	f.entra = start(entraWeb,
		oidcprovider.User{Subject: "e-principal", Username: "principal", Email: mesaPrincipalEmail, Claims: map[string]any{"xms_edov": true}})
	f.rogue = start("rogue-web",
		oidcprovider.User{Subject: "r-coach", Username: "coach", Email: riverbendCoachEmail, EmailVerified: true},
		oidcprovider.User{Subject: "r-nowhere", Username: "nowhere", Email: "someone@elsewhere.test", EmailVerified: true})
	for _, d := range []string{riverbend, mesaVerde} {
		if err := os.MkdirAll(filepath.Join(f.secrets, d), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.secrets, d, webSecretRef), []byte(idpSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// web returns the option that makes server i sign the pages in at the districts' providers
// (no network provider), with the given session timeouts (0: defaults).
func (f *districtIdPs) web(i int, idle, lifetime time.Duration) testenv.Option {
	return func(c *server.Config) {
		c.HTTPAddr = strings.TrimPrefix(f.bases[i], "http://")
		c.Web = server.WebConfig{WebConfig: identity.WebConfig{RedirectURL: f.bases[i] + "/auth/callback"}, SecretsDir: f.secrets,
			IdleTimeout: idle, Lifetime: lifetime}
	}
}

// settings is a district's identity settings body trusting op, with a web client.
func settings(op *oidcprovider.Provider, web, domain string) string {
	return `{"issuers":[{"issuer":"` + op.Issuer + `","audiences":["` + web + `","` + tabletClientID + `"],"email_domains":["` + domain +
		`"],"web_client_id":"` + web + `","web_client_secret_ref":"` + webSecretRef + `"}]}`
}

// setEmails gives roster records the districts' own addresses.
func setEmails(t *testing.T, e *testenv.Env, emails map[string]string) {
	t.Helper()
	for id, email := range emails {
		if _, err := e.Store.Pool().Exec(context.Background(), `UPDATE staff SET email = $1 WHERE staff_id = $2`, email, id); err != nil {
			t.Fatal(err)
		}
	}
}

func staffOf(t *testing.T, e *testenv.Env, district, role string) observation.Principal {
	t.Helper()
	for _, s := range e.Roster.Staff {
		if s.DistrictID == district && string(s.Role) == role {
			return observation.Principal{UserID: s.ID}
		}
	}
	t.Fatalf("no %s in %s", role, district)
	return observation.Principal{}
}

func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// browserCall makes one request with c (a browser: its cookie jar) and returns the status and body.
func browserCall(t *testing.T, c *http.Client, method, u, body string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// loginRedirect is where /auth/login sends the browser (not followed).
func loginRedirect(t *testing.T, base, query string) (int, *url.URL, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/auth/login?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	loc, _ := resp.Location()
	return resp.StatusCode, loc, string(b)
}

// TestWebSignInAtEachDistrictsProvider: two lookfor processes on one database, two districts
// with their own identity providers. District administrators set their provider and its web
// client through the REST API on the first process; the second honours each change at its next
// call (no waiting for a reload): a tablet token of the newly trusted provider is accepted, the
// pages' sign-in for ?district= or ?email= goes to that district's provider (authorization code,
// PKCE S256, login_hint), and once the district stops trusting it, its tokens are refused at
// once. Bad choices answer 400 naming the parameter.
func TestWebSignInAtEachDistrictsProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := startDistrictIdPs(t, 2)
	a := testenv.Start(t, f.web(0, 0, 0))
	b := a.Second(t, f.web(1, 0, 0))
	coach := a.Users[observation.RoleCoach]
	mesaPrincipal, mesaDA := staffOf(t, a, mesaVerde, "principal"), staffOf(t, a, mesaVerde, "district_admin")
	setEmails(t, a, map[string]string{coach.UserID: riverbendCoachEmail, mesaPrincipal.UserID: mesaPrincipalEmail})
	rbDA, mvDA := a.TokenFor(t, observation.RoleDistrictAdmin), a.TokenOnly(t, mesaDA)

	tablet, err := f.entra.SignIn(ctx, oidcprovider.Client{ID: tabletClientID, RedirectURIs: []string{tabletRedir}}, "principal", "pw")
	if err != nil {
		t.Fatal(err)
	}
	// Not trusted yet, on either process.
	for _, env := range []*testenv.Env{a, b} {
		if st := wantREST(t, env.Do(t, http.MethodGet, "/v1/me", tablet.IDToken, ""), http.StatusUnauthorized, codes.Unauthenticated); reasonOf(st) != identity.ReasonIssuerUntrusted {
			t.Fatalf("entra before it is trusted: %v", st)
		}
	}
	// A web client needs to be one of the audiences, and a secret reference that is a file name.
	for _, c := range []struct{ body, field string }{
		{strings.Replace(settings(f.entra, entraWeb, mesaMail), `"web_client_id":"`+entraWeb+`"`, `"web_client_id":"other"`, 1), "issuers[0].web_client_id"},
		{strings.Replace(settings(f.entra, entraWeb, mesaMail), webSecretRef, "../riverbend-usd/"+webSecretRef, 1), "issuers[0].web_client_secret_ref"},
	} {
		st := wantREST(t, a.Do(t, http.MethodPut, "/v1/districts/"+mesaVerde+"/identity", mvDA, c.body), http.StatusBadRequest, codes.InvalidArgument)
		if v := violationsOf(st); len(v) != 1 || v[0] != c.field {
			t.Errorf("violations %v, want %s (%s)", v, c.field, st.Message())
		}
	}
	wantREST(t, a.Do(t, http.MethodPut, "/v1/districts/"+riverbend+"/identity", rbDA, settings(f.google, googleWeb, riverbendMail)), http.StatusOK, codes.OK)
	wantREST(t, a.Do(t, http.MethodPut, "/v1/districts/"+mesaVerde+"/identity", mvDA, settings(f.entra, entraWeb, mesaMail)), http.StatusOK, codes.OK)

	// The second process honours it at its very next call.
	r := b.Do(t, http.MethodGet, "/v1/me", tablet.IDToken, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	if !strings.Contains(r.Body, `"user_id":"`+mesaPrincipal.UserID+`"`) {
		t.Fatalf("entra tablet token on the second process: %s", r.Body)
	}

	// The pages: each district's people go to their district's provider, on either process.
	for _, c := range []struct {
		query string
		op    *oidcprovider.Provider
		hint  string
	}{
		{"district=" + riverbend, f.google, ""},
		{"district=" + mesaVerde + "&issuer=" + url.QueryEscape(f.entra.Issuer), f.entra, ""},
		{"email=" + url.QueryEscape(mesaPrincipalEmail), f.entra, mesaPrincipalEmail},
	} {
		code, loc, body := loginRedirect(t, f.bases[1], c.query)
		if code != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), c.op.Issuer+"/") {
			t.Fatalf("login %s: %d %v %s, want a redirect to %s", c.query, code, loc, body, c.op.Issuer)
		}
		q := loc.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("login_hint") != c.hint {
			t.Errorf("login %s: authorization request %v", c.query, q)
		}
	}
	signIn := func(base, query, user string, op *oidcprovider.Provider) string {
		t.Helper()
		c := newBrowser()
		if _, err := oidcprovider.BrowseTo(ctx, base+"/auth/login?return_to=/v1/me&"+query, base+"/v1/me", user, "pw", c.Jar); err != nil {
			t.Fatalf("sign-in %s at %s: %v", user, op.Issuer, err)
		}
		code, body := browserCall(t, c, http.MethodGet, base+"/v1/me", "")
		if code != http.StatusOK {
			t.Fatalf("/v1/me after signing in: %d %s", code, body)
		}
		return body
	}
	if body := signIn(f.bases[1], "district="+riverbend, "coach", f.google); !strings.Contains(body, `"user_id":"`+coach.UserID+`"`) {
		t.Fatalf("riverbend coach: %s", body)
	}
	if body := signIn(f.bases[0], "email="+url.QueryEscape(mesaPrincipalEmail), "principal", f.entra); !strings.Contains(body, `"user_id":"`+mesaPrincipal.UserID+`"`) {
		t.Fatalf("mesa verde principal: %s", body)
	}

	// Bad choices name the parameter.
	for _, c := range []struct{ query, field string }{
		{"", "district"},
		{"district=lakeshore-usd", "district"},
		{"district=no%20such", "district"},
		{"district=" + riverbend + "&issuer=" + url.QueryEscape(f.entra.Issuer), "issuer"},
		{"email=not-an-address", "email"},
		{"email=someone%40elsewhere.test", "email"},
	} {
		code, _, body := loginRedirect(t, f.bases[0], c.query)
		if code != http.StatusBadRequest || !strings.Contains(body, `"message":"`+c.field+`:`) {
			t.Errorf("login ?%s: %d %s, want 400 naming %s", c.query, code, body, c.field)
		}
	}

	// A changed audience list reaches the other process through its notification, even after its
	// listening connection was cut (it reconnects and rereads): cut both processes' listeners,
	// wait for them to listen again, then add a second tablet app's client id on the first.
	tablet2, err := f.entra.SignIn(ctx, oidcprovider.Client{ID: secondTablet, RedirectURIs: []string{tabletRedir}}, "principal", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if st := wantREST(t, b.Do(t, http.MethodGet, "/v1/me", tablet2.IDToken, ""), http.StatusUnauthorized, codes.Unauthenticated); reasonOf(st) != "TOKEN_AUDIENCE" {
		t.Fatalf("second tablet app before it is an audience: %v", st)
	}
	listeners := func() int {
		var n int
		if err := a.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN lookfor_identity_issuers'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := listeners(); n != 2 {
		t.Fatalf("%d processes listen for identity settings changes, want 2", n)
	}
	if _, err := a.Store.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN lookfor_identity_issuers'`); err != nil {
		t.Fatal(err)
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 30 s", what)
			}
		}
	}
	eventually("both processes listen again", func() bool { return listeners() == 2 })
	wantREST(t, a.Do(t, http.MethodPut, "/v1/districts/"+mesaVerde+"/identity", mvDA,
		strings.Replace(settings(f.entra, entraWeb, mesaMail), `"`+tabletClientID+`"`, `"`+tabletClientID+`","`+secondTablet+`"`, 1)), http.StatusOK, codes.OK)
	eventually("the second process accepts the new audience", func() bool {
		return b.Do(t, http.MethodGet, "/v1/me", tablet2.IDToken, "").Status == http.StatusOK
	})
	// Taken out again on the first process: refused on the second at its next call (by the
	// notification, or else by the link lookup, which checks the district's audiences now).
	wantREST(t, a.Do(t, http.MethodPut, "/v1/districts/"+mesaVerde+"/identity", mvDA, settings(f.entra, entraWeb, mesaMail)), http.StatusOK, codes.OK)
	if r := b.Do(t, http.MethodGet, "/v1/me", tablet2.IDToken, ""); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		t.Fatalf("second tablet app after it stopped being an audience: %d %s", r.Status, r.Body)
	}

	// Mesa Verde stops trusting its provider on the first process: refused on the second at once,
	// and the pages no longer offer it.
	wantREST(t, a.Do(t, http.MethodPut, "/v1/districts/"+mesaVerde+"/identity", mvDA, `{"issuers":[]}`), http.StatusOK, codes.OK)
	if st := wantREST(t, b.Do(t, http.MethodGet, "/v1/me", tablet.IDToken, ""), http.StatusUnauthorized, codes.Unauthenticated); reasonOf(st) != identity.ReasonIssuerUntrusted {
		t.Fatalf("entra after the district stopped trusting it: %v", st)
	}
	if code, _, body := loginRedirect(t, f.bases[1], "district="+mesaVerde); code != http.StatusBadRequest {
		t.Fatalf("login for a district without a provider: %d %s", code, body)
	}
	// The other district is untouched.
	if _, err := pb.NewIdentityServiceClient(b.GRPC).WhoAmI(testenv.Ctx(a.TokenFor(t, observation.RoleCoach)), &pb.WhoAmIRequest{}); err != nil {
		t.Fatal(err)
	}
}

// TestSignInRefusalsAuditedAndSessionsExpire: every web sign-in, refusal and link lands in the
// audit log of the district it concerns, read back over REST by that district's administrator,
// never holding a token: a provider the district does not trust (its tokens' claimed address
// names the district), an address of another district's domain at this district's provider, an
// unverified address, someone not on the roster, an inactive and a tobedeleted record; a linked
// person whose address changed at the provider still signs in (the subject decides). A token
// whose district cannot be told leaves no entry. Then sessions: one unused longer than
// the idle timeout is refused (401 SESSION_ENDED), and one used all the time is refused once
// its lifetime has passed.
func TestSignInRefusalsAuditedAndSessionsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := startDistrictIdPs(t, 1)
	const idle, lifetime = 3 * time.Second, 8 * time.Second
	e := testenv.Start(t, f.web(0, idle, lifetime))
	base := f.bases[0]
	coach, principal := e.Users[observation.RoleCoach], e.Users[observation.RolePrincipal]
	mesaPrincipal, mesaDA := staffOf(t, e, mesaVerde, "principal"), staffOf(t, e, mesaVerde, "district_admin")
	setEmails(t, e, map[string]string{coach.UserID: riverbendCoachEmail, principal.UserID: riverbendPrincipalEmail, mesaPrincipal.UserID: mesaPrincipalEmail})
	rbDA, mvDA := e.TokenFor(t, observation.RoleDistrictAdmin), e.TokenOnly(t, mesaDA)
	wantREST(t, e.Do(t, http.MethodPut, "/v1/districts/"+riverbend+"/identity", rbDA, settings(f.google, googleWeb, riverbendMail)), http.StatusOK, codes.OK)
	wantREST(t, e.Do(t, http.MethodPut, "/v1/districts/"+mesaVerde+"/identity", mvDA, settings(f.entra, entraWeb, mesaMail)), http.StatusOK, codes.OK)
	if err := e.Store.SetStaffStatus(ctx, principal.DistrictID, principal.UserID, identity.StatusToBeDeleted); err != nil {
		t.Fatal(err)
	}

	// signIn signs user in at riverbend's provider; want "" for success, else the refusal reason.
	signIn := func(user, want string) *http.Client {
		t.Helper()
		c := newBrowser()
		_, err := oidcprovider.BrowseTo(ctx, base+"/auth/login?return_to=/v1/me&district="+riverbend, base+"/v1/me", user, "pw", c.Jar)
		switch {
		case want == "" && err != nil:
			t.Fatalf("%s: %v", user, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), `"reason":"`+want+`"`)):
			t.Fatalf("%s: %v, want refused %s", user, err, want)
		}
		return c
	}
	signIn("coach", "")
	// The coach's address changes at the provider: the linked subject still decides.
	f.google.SetEmail("g-coach", "coach.renamed@"+riverbendMail, true)
	signIn("coach", "")
	f.google.SetEmail("g-coach", riverbendCoachEmail, true)
	signIn("unverified", identity.ReasonEmailUnverified)
	signIn("stranger", identity.ReasonNotRostered)
	signIn("outsider", identity.ReasonNotRostered) // a Mesa Verde address at Riverbend's provider
	signIn("principal", identity.ReasonStaffInactive)
	signIn("nowhere", identity.ReasonNotRostered) // no district's domain: Riverbend's, whose provider it used
	if err := e.Store.SetStaffStatus(ctx, coach.DistrictID, coach.UserID, identity.StatusInactive); err != nil {
		t.Fatal(err)
	}
	signIn("coach", identity.ReasonStaffInactive)
	if err := e.Store.SetStaffStatus(ctx, coach.DistrictID, coach.UserID, identity.StatusActive); err != nil {
		t.Fatal(err)
	}
	// Tablet tokens of a provider nobody trusts: one claiming a Riverbend address, one an address
	// of no district's (no district can be told: no entry anywhere).
	var rogue oidcprovider.Tokens
	for _, user := range []string{"coach", "nowhere"} {
		toks, err := f.rogue.SignIn(ctx, oidcprovider.Client{ID: tabletClientID, RedirectURIs: []string{tabletRedir}}, user, "pw")
		if err != nil {
			t.Fatal(err)
		}
		wantREST(t, e.Do(t, http.MethodGet, "/v1/me", toks.IDToken, ""), http.StatusUnauthorized, codes.Unauthenticated)
		rogue = toks
	}

	type entry struct{ action, actor, reason, subject string }
	auditOf := func(district, token string) []entry {
		t.Helper()
		var out []entry
		for _, action := range []string{"identity.signin", "identity.link", "identity.refused"} {
			r := e.Do(t, http.MethodGet, "/v1/districts/"+district+"/audit?action="+action, token, "")
			wantREST(t, r, http.StatusOK, codes.OK)
			if strings.Contains(r.Body, "eyJ") || strings.Contains(r.Body, rogue.IDToken[:40]) {
				t.Errorf("a token reached %s's audit log: %s", district, r.Body)
			}
			var resp pb.ListAuditEntriesResponse
			decode(t, r.Body, &resp)
			for _, en := range resp.GetEntries() {
				d := en.GetDetails().AsMap()
				reason, _ := d["reason"].(string)
				subject, _ := d["subject"].(string)
				out = append(out, entry{en.GetAction(), en.GetActor(), reason, subject})
			}
		}
		return out
	}
	want := func(district, token string, wanted ...entry) {
		t.Helper()
		got := auditOf(district, token)
		for _, w := range wanted {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("%s's audit log lacks %+v; it holds %+v", district, w, got)
			}
		}
		for _, g := range got {
			if g.subject == "r-nowhere" {
				t.Errorf("%s's audit log holds an untrusted token of an address no district lists: %+v", district, g)
			}
		}
	}
	want(riverbend, rbDA,
		entry{"identity.link", coach.UserID, "", "g-coach"},
		entry{"identity.signin", coach.UserID, "", "g-coach"},
		entry{"identity.refused", "", identity.ReasonNotRostered, "g-nowhere"},
		entry{"identity.refused", "", identity.ReasonEmailUnverified, "g-unverified"},
		entry{"identity.refused", "", identity.ReasonNotRostered, "g-stranger"},
		entry{"identity.refused", principal.UserID, identity.ReasonStaffInactive, "g-principal"},
		entry{"identity.refused", coach.UserID, identity.ReasonStaffInactive, "g-coach"},
		entry{"identity.refused", "", identity.ReasonIssuerUntrusted, "r-coach"})
	want(mesaVerde, mvDA, entry{"identity.refused", "", identity.ReasonNotRostered, "g-outsider"})

	// Sessions. The coach's session, used within the idle timeout, works; left unused longer
	// than the idle timeout, it is refused with a code, and stays refused.
	me := func(c *http.Client) (int, string) { return browserCall(t, c, http.MethodGet, base+"/v1/me", "") }
	c := signIn("coach", "")
	if code, body := me(c); code != http.StatusOK {
		t.Fatalf("fresh session: %d %s", code, body)
	}
	time.Sleep(idle + time.Second)
	for range 2 {
		if code, body := me(c); code != http.StatusUnauthorized || !strings.Contains(body, server.ReasonSessionEnded) {
			t.Fatalf("session idle for longer than %v: %d %s, want 401 %s", idle, code, body, server.ReasonSessionEnded)
		}
	}
	// A session used every half second: still valid after the idle timeout has passed many
	// times over, refused once its lifetime (counted from sign-in) has passed.
	begun := time.Now()
	c = signIn("coach", "")
	var usedPastIdle bool
	for {
		code, body := me(c)
		if code != http.StatusOK {
			if code != http.StatusUnauthorized || !strings.Contains(body, server.ReasonSessionEnded) {
				t.Fatalf("session past its lifetime: %d %s", code, body)
			}
			if time.Since(begun) < lifetime {
				t.Fatalf("session ended %v after sign-in began, before its lifetime %v", time.Since(begun), lifetime)
			}
			break
		}
		usedPastIdle = usedPastIdle || time.Since(begun) > idle+time.Second
		if time.Since(begun) > 3*lifetime {
			t.Fatalf("session still valid %v after sign-in (lifetime %v)", time.Since(begun), lifetime)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !usedPastIdle {
		t.Fatal("the session was never used past the idle timeout")
	}
}
