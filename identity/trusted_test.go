package identity_test

import (
	"context"
	"slices"
	"testing"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/oidcprovider"
	"github.com/lookfor-edu/lookfor/observation"
)

// issuers is a fixed list of district trusts (in production: the identity_issuers table).
type issuers []identity.Trust

func (l issuers) IdentityIssuers(context.Context) ([]identity.Trust, error) { return l, nil }

var (
	tablet = oidcprovider.Client{ID: "lookfor-tablet", RedirectURIs: []string{"http://127.0.0.1/callback"}}
	other  = oidcprovider.Client{ID: "another-app", RedirectURIs: []string{"http://127.0.0.1/other"}}
	alice  = oidcprovider.User{Subject: "g-1001", Username: "alice", Password: "pw-alice", Email: "Alice@Example.org", EmailVerified: true}
)

func startOP(t *testing.T) *oidcprovider.Provider {
	t.Helper()
	p, err := oidcprovider.Start("127.0.0.1:0", []oidcprovider.User{alice}, []oidcprovider.Client{tablet, other})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestTrustedDiscovery: tokens from a district's identity provider (a real OpenID Provider on
// loopback, signed in through the authorization code flow with PKCE) verify through discovery;
// a rotated signing key is picked up; another audience, an untrusted issuer and an unreachable
// provider are refused with their reasons.
func TestTrustedDiscovery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	op, stranger := startOP(t), startOP(t)
	down := "http://127.0.0.1:1" // nothing listens there
	v, err := identity.NewTrusted(ctx, identity.TrustedConfig{Source: issuers{
		{DistrictID: "riverbend-usd", Issuer: op.Issuer, Audiences: []string{tablet.ID}},
		{DistrictID: "mesa-verde-sd", Issuer: down, Audiences: []string{"x"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := op.SignIn(ctx, tablet, alice.Username, alice.Password)
	if err != nil {
		t.Fatal(err)
	}
	if toks.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	id, err := v.Verify(ctx, toks.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	if id.Issuer != op.Issuer || id.Subject != alice.Subject || id.Email != alice.Email || !id.EmailVerified || !slices.Contains(id.Audience, tablet.ID) {
		t.Fatalf("identity %+v", id)
	}

	// The provider rotates its signing key; a refreshed token is signed with the new one.
	if err := op.Rotate(); err != nil {
		t.Fatal(err)
	}
	refreshed, err := op.Refresh(ctx, tablet, toks.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := v.Verify(ctx, refreshed.IDToken); err != nil || id.Subject != alice.Subject {
		t.Fatalf("token of the rotated key: %+v %v", id, err)
	}

	refuse := func(name, token string, kind observation.Kind, want string) {
		t.Helper()
		_, err := v.Verify(ctx, token)
		if observation.KindOf(err) != kind || reason(err) != want {
			t.Errorf("%s: %v (reason %q), want %v %s", name, err, reason(err), kind, want)
		}
	}
	otherApp, err := op.SignIn(ctx, other, alice.Username, alice.Password)
	if err != nil {
		t.Fatal(err)
	}
	refuse("another client's token", otherApp.IDToken, observation.KindUnauthenticated, "TOKEN_AUDIENCE")
	strangers, err := stranger.SignIn(ctx, tablet, alice.Username, alice.Password)
	if err != nil {
		t.Fatal(err)
	}
	refuse("untrusted issuer", strangers.IDToken, observation.KindUnauthenticated, "TOKEN_ISSUER")
	// A trusted issuer whose provider cannot be reached: unavailable (retry), not a bad token.
	forged := newKey(t)
	tok, err := forged.Mint(coach, down, "x", 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	refuse("unreachable provider", tok, observation.KindUnavailable, "UNAVAILABLE")
}
