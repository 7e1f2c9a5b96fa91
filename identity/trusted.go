package identity

import (
	"context"
	"errors"
	"net/http"
	"slices"
	gosync "sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/lookfor-edu/lookfor/observation"
)

// IssuerSource lists the issuers districts trust, with the audiences each accepts.
type IssuerSource interface {
	IdentityIssuers(ctx context.Context) ([]Trust, error)
}

// IssuerWatcher is an IssuerSource that says when any process changes the trusted issuers
// (store.Store: PostgreSQL LISTEN/NOTIFY). It calls changed after each change and after each
// (re)connection, until ctx ends, and failed with each connection error.
type IssuerWatcher interface {
	WatchIdentityIssuers(ctx context.Context, changed func(), failed func(error))
}

// TrustedConfig configures a Trusted verifier. Zero durations take the defaults named.
type TrustedConfig struct {
	// Network verifies the process-wide issuer (lookfor serve's --jwt-issuer); may be nil.
	Network *Verifier
	// Source lists the issuers districts trust (their identity settings).
	Source IssuerSource
	// Reload is how often Source is read again besides its change notifications (default 5m: a
	// backstop); ReloadIssuers rereads it at once.
	Reload time.Duration
	// WatchFailed is told when watching for changes fails (it is retried); may be nil.
	WatchFailed func(error)
	// HTTPClient fetches discovery documents and JWKS (default: a 10s timeout).
	HTTPClient *http.Client
	// Leeway, RefreshInterval and UnknownKeyRefresh are as in Config, for every district issuer.
	Leeway            time.Duration
	RefreshInterval   time.Duration
	UnknownKeyRefresh time.Duration
}

// Trusted verifies tokens of every trusted issuer: the network issuer with its configured keys,
// and each issuer a district trusts through OpenID Connect discovery
// (/.well-known/openid-configuration → jwks_uri), with the JWKS cached, refreshed on an
// interval and on an unknown key id (rate limited). The issuer list is held in memory and reread
// whenever any process changes it (IssuerWatcher); a token of an issuer not on the list makes
// one shared reread before it is refused, so a provider a district has just trusted on another
// process is honoured at once.
type Trusted struct {
	cfg TrustedConfig
	ctx context.Context // lives as long as the server: background JWKS refreshes

	reloadMu      gosync.Mutex // one reread at a time
	reloadStarted time.Time    // when the last reread that succeeded began

	mu        gosync.Mutex
	audiences map[string][]string // trusted issuer → audiences accepted
	domains   map[string][]string // email domain → districts listing it
	verifiers map[string]*issuerVerifier
}

type issuerVerifier struct {
	v         *Verifier
	audiences []string
	failedAt  time.Time // discovery or the first JWKS fetch failed then: retry after discoveryRetry
	err       error
}

// discoveryRetry is the least time between two discovery attempts for an issuer that failed.
const discoveryRetry = 10 * time.Second

// NewTrusted reads the trusted issuers now and again every cfg.Reload until ctx ends.
func NewTrusted(ctx context.Context, cfg TrustedConfig) (*Trusted, error) {
	if cfg.Reload <= 0 {
		cfg.Reload = 5 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	t := &Trusted{cfg: cfg, ctx: ctx, verifiers: map[string]*issuerVerifier{}, audiences: map[string][]string{}}
	// A database that cannot be read yet (starting, or not migrated) must not stop the server:
	// until the list is read, only the network issuer is trusted, and reading is retried every
	// second.
	loaded := t.ReloadIssuers(ctx) == nil
	if w, ok := cfg.Source.(IssuerWatcher); ok {
		go w.WatchIdentityIssuers(ctx, func() { _ = t.ReloadIssuers(ctx) }, cfg.WatchFailed)
	}
	go func() {
		for {
			wait := cfg.Reload
			if !loaded {
				wait = time.Second
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
				loaded = t.ReloadIssuers(ctx) == nil || loaded // a failed reload keeps the last list
			}
		}
	}()
	return t, nil
}

// ReloadIssuers reads the trusted issuers again (after a district changes its settings).
func (t *Trusted) ReloadIssuers(ctx context.Context) error {
	return t.reloadSince(ctx, time.Time{})
}

// reloadSince rereads the trusted issuers unless a reread that began after since has already
// succeeded: callers waiting together share one read.
func (t *Trusted) reloadSince(ctx context.Context, since time.Time) error {
	t.reloadMu.Lock()
	defer t.reloadMu.Unlock()
	if !since.IsZero() && t.reloadStarted.After(since) {
		return nil
	}
	started := time.Now()
	if err := t.reload(ctx); err != nil {
		return err
	}
	t.reloadStarted = started
	return nil
}

func (t *Trusted) reload(ctx context.Context) error {
	if t.cfg.Source == nil {
		t.mu.Lock()
		t.audiences = map[string][]string{}
		t.mu.Unlock()
		return nil
	}
	trusts, err := t.cfg.Source.IdentityIssuers(ctx)
	if err != nil {
		return err
	}
	auds, domains := map[string][]string{}, map[string][]string{}
	for _, tr := range trusts {
		for _, d := range tr.EmailDomains {
			if !slices.Contains(domains[d], tr.DistrictID) {
				domains[d] = append(domains[d], tr.DistrictID)
			}
		}
		for _, a := range tr.Audiences {
			if !slices.Contains(auds[tr.Issuer], a) {
				auds[tr.Issuer] = append(auds[tr.Issuer], a)
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.audiences, t.domains = auds, domains
	return nil
}

// DistrictsByDomain returns the districts whose settings list the email domain (lower-case),
// from memory.
func (t *Trusted) DistrictsByDomain(domain string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.domains[domain])
}

// Verify checks a token of any trusted issuer and returns the identity it names.
func (t *Trusted) Verify(ctx context.Context, token string) (Identity, error) {
	if err := CheckTokenShape(token); err != nil {
		return Identity{}, err
	}
	var peek jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &peek); err != nil {
		return Identity{}, &observation.Error{Kind: observation.KindUnauthenticated, Reason: "TOKEN_MALFORMED", Message: "the bearer token is not a well-formed JWT"}
	}
	if n := t.cfg.Network; n != nil && peek.Issuer == n.issuer {
		return n.Verify(ctx, token)
	}
	arrived := time.Now()
	v, err := t.verifier(ctx, peek.Issuer)
	if isUntrusted(err) && t.reloadSince(ctx, arrived) == nil {
		// Perhaps trusted a moment ago on another process: read the list again (shared with
		// every call waiting for it) before refusing.
		v, err = t.verifier(ctx, peek.Issuer)
	}
	if err != nil {
		return Identity{}, err
	}
	return v.Verify(ctx, token)
}

func isUntrusted(err error) bool {
	var e *observation.Error
	return errors.As(err, &e) && e.Reason == ReasonIssuerUntrusted
}

func (t *Trusted) trustedAudiences(issuer string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.audiences[issuer]
}

// verifier returns the verifier of a district-trusted issuer, discovering it on first use.
func (t *Trusted) verifier(ctx context.Context, issuer string) (*Verifier, error) {
	untrusted := &observation.Error{Kind: observation.KindUnauthenticated, Reason: ReasonIssuerUntrusted,
		Message: "the bearer token was issued by an issuer this server does not trust"}
	t.mu.Lock()
	defer t.mu.Unlock()
	auds := t.audiences[issuer]
	if len(auds) == 0 {
		return nil, untrusted
	}
	iv := t.verifiers[issuer]
	switch {
	case iv != nil && iv.v != nil:
		if !slices.Equal(iv.audiences, auds) {
			iv.v, iv.audiences = iv.v.withAudiences(auds, t.cfg.Leeway), auds
		}
		return iv.v, nil
	case iv != nil && time.Since(iv.failedAt) < discoveryRetry:
		return nil, iv.err
	}
	// Discovery and the first JWKS fetch happen under the lock: one at a time, never a flood.
	v, err := t.discover(ctx, issuer, auds)
	if err != nil {
		iv = &issuerVerifier{failedAt: time.Now(), err: observation.Unavailable(err, "the identity provider %s cannot be reached; try again shortly", issuer)}
		t.verifiers[issuer] = iv
		return nil, iv.err
	}
	t.verifiers[issuer] = &issuerVerifier{v: v, audiences: auds}
	return v, nil
}

func (t *Trusted) discover(ctx context.Context, issuer string, audiences []string) (*Verifier, error) {
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, t.cfg.HTTPClient), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, issuer) // checks the document names the same issuer
	if err != nil {
		return nil, err
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, err
	}
	if doc.JWKSURI == "" {
		return nil, errors.New("the discovery document has no jwks_uri")
	}
	return NewVerifier(t.ctx, Config{Issuer: issuer, Audiences: audiences, JWKSURL: doc.JWKSURI, Leeway: t.cfg.Leeway,
		RefreshInterval: t.cfg.RefreshInterval, UnknownKeyRefresh: t.cfg.UnknownKeyRefresh, HTTPClient: t.cfg.HTTPClient})
}
