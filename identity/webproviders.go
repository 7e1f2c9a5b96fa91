package identity

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"

	"golang.org/x/oauth2"

	"github.com/lookfor-edu/lookfor/observation"
)

// WebProviderStore reads what the pages' sign-in needs of districts' identity settings
// (implemented by store.Store).
type WebProviderStore interface {
	// IdentityDistrictIssuers lists the issuers district trusts.
	IdentityDistrictIssuers(ctx context.Context, district string) ([]Trust, error)
	// IdentityWebTrustsByDomain lists the trusts with a web client whose email domains include
	// domain (lower-case), in any district.
	IdentityWebTrustsByDomain(ctx context.Context, domain string) ([]Trust, error)
}

// WebProviders finds the identity provider a person's web sign-in goes to: their district's own
// (the district's identity settings with a web client: its issuer, client id and the secret
// its reference names) or the network's (lookfor serve --oidc-issuer).
type WebProviders struct {
	// Network is the network-wide provider; empty Issuer: none.
	Network WebConfig
	// Store reads districts' identity settings, at every sign-in (never a stale copy).
	Store WebProviderStore
	// SecretsDir holds each district's web client secrets: SecretsDir/<district>/<reference>.
	SecretsDir  string
	RedirectURL string
	HTTPClient  *http.Client

	mu    gosync.Mutex
	cache map[WebConfig]*WebSignIn // discovery once per provider, client and secret
}

// WebChoice is which provider a sign-in uses; it is kept between leaving for the provider and
// coming back. District empty: the network's provider.
type WebChoice struct {
	District string
	Issuer   string
}

// Reason codes of choosing a web provider.
const (
	ReasonNoWebProvider = "NO_WEB_PROVIDER"
)

// Choose picks the provider for a sign-in request: by district (and issuer, when the district
// has several providers for the pages), else by the email address's domain, else the network's.
// Errors name the query parameter.
func (w *WebProviders) Choose(ctx context.Context, district, issuer, email string) (WebChoice, error) {
	switch {
	case district != "":
		if err := observation.ValidateID("district", district); err != nil {
			return WebChoice{}, err
		}
		ts, err := w.Store.IdentityDistrictIssuers(ctx, district)
		if err != nil {
			return WebChoice{}, err
		}
		ts = slices.DeleteFunc(ts, func(t Trust) bool { return t.WebClientID == "" || (issuer != "" && t.Issuer != issuer) })
		switch {
		case len(ts) == 1:
			return WebChoice{District: district, Issuer: ts[0].Issuer}, nil
		case len(ts) > 1:
			return WebChoice{}, observation.Invalid("issuer", ReasonNoWebProvider, "district %s signs in at %d identity providers; say which with issuer=", district, len(ts))
		case issuer != "":
			return WebChoice{}, observation.Invalid("issuer", ReasonNoWebProvider, "district %s does not sign the pages in at that identity provider", district)
		}
		return WebChoice{}, observation.Invalid("district", ReasonNoWebProvider, "district %s has no identity provider for the web pages (its identity settings give none a web client)", district)
	case email != "":
		_, domain, ok := strings.Cut(strings.ToLower(email), "@")
		if !ok || len(email) > maxSettingValueByte || !domainPattern.MatchString(domain) {
			return WebChoice{}, observation.Invalid("email", ReasonNoWebProvider, "give an email address such as name@district.example.org")
		}
		ts, err := w.Store.IdentityWebTrustsByDomain(ctx, domain)
		if err != nil {
			return WebChoice{}, err
		}
		if len(ts) == 1 {
			return WebChoice{District: ts[0].DistrictID, Issuer: ts[0].Issuer}, nil
		}
		if len(ts) == 0 && w.Network.Issuer != "" {
			return WebChoice{}, nil
		}
		return WebChoice{}, observation.Invalid("email", ReasonNoWebProvider, "no single district signs %s addresses in to the web pages; sign in with district=", domain)
	case issuer != "":
		return WebChoice{}, observation.Invalid("issuer", ReasonNoWebProvider, "issuer= needs district=")
	case w.Network.Issuer == "":
		return WebChoice{}, observation.Invalid("district", ReasonNoWebProvider, "say which district you sign in for: /auth/login?district=<id> (or email=<your address>)")
	}
	return WebChoice{}, nil
}

// SignIn returns the relying party for c, read from the district's settings now.
func (w *WebProviders) SignIn(ctx context.Context, c WebChoice) (*WebSignIn, error) {
	cfg := w.Network
	if c.District != "" {
		ts, err := w.Store.IdentityDistrictIssuers(ctx, c.District)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(ts, func(t Trust) bool { return t.Issuer == c.Issuer && t.WebClientID != "" })
		if i < 0 {
			return nil, observation.Invalid("district", ReasonNoWebProvider, "district %s no longer signs the pages in at %s; start again", c.District, c.Issuer)
		}
		secret, err := w.secret(c.District, ts[i].WebClientSecretRef)
		if err != nil {
			return nil, err
		}
		cfg = WebConfig{Issuer: c.Issuer, ClientID: ts[i].WebClientID, ClientSecret: secret}
	}
	cfg.RedirectURL, cfg.HTTPClient = w.RedirectURL, w.HTTPClient
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cache == nil {
		w.cache = map[WebConfig]*WebSignIn{}
	}
	s, ok := w.cache[cfg]
	if !ok {
		s = NewWebSignIn(cfg)
		w.cache[cfg] = s
	}
	return s, nil
}

// secret reads a district's web client secret from SecretsDir/<district>/<ref> (the reference
// was checked to be a plain file name when the settings were saved).
func (w *WebProviders) secret(district, ref string) (string, error) {
	unconfigured := func(err error) error {
		return &observation.Error{Kind: observation.KindFailedPrecondition, Reason: ReasonNoWebProvider, Err: err,
			Message: fmt.Sprintf("district %s's web sign-in is not set up on this server yet (its client secret %q is missing); ask the lookfor operators", district, ref)}
	}
	if w.SecretsDir == "" || !secretRefPattern.MatchString(ref) || observation.ValidateID("district", district) != nil {
		return "", unconfigured(nil)
	}
	b, err := os.ReadFile(filepath.Join(w.SecretsDir, district, ref))
	if err != nil {
		return "", unconfigured(err)
	}
	return strings.TrimSpace(string(b)), nil
}

// loginHint asks the provider to preselect an account.
func loginHint(email string) oauth2.AuthCodeOption {
	return oauth2.SetAuthURLParam("login_hint", email)
}
