package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	gosync "sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/lookfor-edu/lookfor/observation"
)

// WebConfig says which identity provider the pages sign in with (an OpenID Connect relying
// party with a client secret: lookfor's web client at that provider).
type WebConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string // lookfor's /auth/callback, as registered at the provider
	HTTPClient   *http.Client
}

// Pending is what a sign-in keeps in the browser's session between leaving for the provider
// and coming back: the state and nonce it sent, the PKCE verifier, and where to return.
type Pending struct {
	State    string
	Nonce    string
	Verifier string
	ReturnTo string
}

// WebSignIn runs the authorization code flow with PKCE (S256), state and nonce against the
// configured provider, found by discovery on first use.
type WebSignIn struct {
	cfg WebConfig

	mu       gosync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// NewWebSignIn returns a sign-in for cfg; nothing is fetched until the first sign-in.
func NewWebSignIn(cfg WebConfig) *WebSignIn {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &WebSignIn{cfg: cfg}
}

// Reason codes of web sign-in.
const (
	ReasonSignInFailed = "SIGN_IN_FAILED"
)

func (w *WebSignIn) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.oauth != nil {
		return w.oauth, w.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, w.cfg.HTTPClient), w.cfg.Issuer)
	if err != nil {
		return nil, nil, observation.Unavailable(err, "the identity provider %s cannot be reached; try again shortly", w.cfg.Issuer)
	}
	w.oauth = &oauth2.Config{ClientID: w.cfg.ClientID, ClientSecret: w.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: w.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	w.verifier = p.Verifier(&oidc.Config{ClientID: w.cfg.ClientID, SupportedSigningAlgs: algorithms})
	return w.oauth, w.verifier, nil
}

// Start begins a sign-in: the provider URL to send the browser to, and what to keep until it
// comes back. returnTo must be a path on this site ("/" otherwise); hint, when not empty, is the
// email address the person gave (the provider preselects that account).
func (w *WebSignIn) Start(ctx context.Context, returnTo, hint string) (string, Pending, error) {
	cfg, _, err := w.discover(ctx)
	if err != nil {
		return "", Pending{}, err
	}
	if !localPath(returnTo) {
		returnTo = "/"
	}
	p := Pending{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(p.Verifier), oidc.Nonce(p.Nonce)}
	if hint != "" {
		opts = append(opts, loginHint(hint))
	}
	return cfg.AuthCodeURL(p.State, opts...), p, nil
}

// Finish completes a sign-in when the browser comes back with code and state: the state must be
// the one sent, the code is exchanged with the PKCE verifier, and the ID token is verified
// (issuer, audience = the web client, signature, expiry, nonce).
func (w *WebSignIn) Finish(ctx context.Context, p Pending, code, state string) (Identity, error) {
	failed := func(msg string) error {
		return &observation.Error{Kind: observation.KindUnauthenticated, Reason: ReasonSignInFailed, Message: msg}
	}
	if p.State == "" || state != p.State {
		return Identity{}, failed("the sign-in's state does not match; start again")
	}
	cfg, v, err := w.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := cfg.Exchange(oidc.ClientContext(ctx, w.cfg.HTTPClient), code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return Identity{}, failed("the identity provider refused the sign-in code; start again")
	}
	raw, _ := tok.Extra("id_token").(string)
	if err := CheckTokenShape(raw); err != nil {
		return Identity{}, err
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return Identity{}, failed("the identity provider's token has expired; start again")
		}
		return Identity{}, failed("the identity provider's token does not verify")
	}
	if idt.Nonce != p.Nonce {
		return Identity{}, failed("the sign-in's nonce does not match; start again")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return Identity{}, failed("the identity provider's token has unreadable claims")
	}
	id := c.identity()
	id.Issuer, id.Subject, id.Audience = idt.Issuer, idt.Subject, idt.Audience
	return id, CheckClaims(id)
}

func localPath(p string) bool {
	return len(p) > 0 && p[0] == '/' && (len(p) == 1 || (p[1] != '/' && p[1] != '\\'))
}

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
