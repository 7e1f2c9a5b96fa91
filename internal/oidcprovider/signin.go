package oidcprovider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Tokens are what a sign-in yields.
type Tokens struct {
	IDToken      string
	AccessToken  string
	RefreshToken string
}

// SignIn signs username in as client the way a tablet app does: the authorization code flow
// with PKCE, state and nonce, through the provider's sign-in page (a browser's part played by
// an HTTP client), then the code exchanged for tokens. The scopes are openid, email, profile
// and offline_access (a refresh token).
func (p *Provider) SignIn(ctx context.Context, c Client, username, password string) (Tokens, error) {
	cfg, err := p.oauth2Config(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	verifier, state, nonce := oauth2.GenerateVerifier(), randomString(), randomString()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	code, err := Browse(ctx, authURL, c.RedirectURIs[0], username, password, state)
	if err != nil {
		return Tokens{}, err
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Tokens{}, fmt.Errorf("code exchange: %w", err)
	}
	id, _ := tok.Extra("id_token").(string)
	return Tokens{IDToken: id, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}, nil
}

// Refresh exchanges a refresh token for new tokens, as a tablet does when its ID token expires.
func (p *Provider) Refresh(ctx context.Context, c Client, refreshToken string) (Tokens, error) {
	cfg, err := p.oauth2Config(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return Tokens{}, fmt.Errorf("refresh: %w", err)
	}
	id, _ := tok.Extra("id_token").(string)
	return Tokens{IDToken: id, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}, nil
}

func (p *Provider) oauth2Config(ctx context.Context, c Client) (*oauth2.Config, error) {
	disc, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: disc.Endpoint(), RedirectURL: c.RedirectURIs[0],
		Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}, nil
}

// Browse plays a person's browser: it opens authURL (at this provider, or at a relying party
// that redirects there), follows redirects to the sign-in page, submits username and password,
// and follows redirects until one reaches redirectURI, whose code it returns after checking the
// state (when state is not empty). A relying party's cookies set along the way are kept in jar
// when it is not nil.
func Browse(ctx context.Context, authURL, redirectURI, username, password, state string, jar ...http.CookieJar) (string, error) {
	u, err := BrowseTo(ctx, authURL, redirectURI, username, password, jar...)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("provider answered %s: %s", e, q.Get("error_description"))
	}
	if state != "" && q.Get("state") != state {
		return "", fmt.Errorf("state %q came back as %q", state, q.Get("state"))
	}
	return q.Get("code"), nil
}

// BrowseTo is Browse returning the URL that reached redirectURI.
func BrowseTo(ctx context.Context, authURL, redirectURI, username, password string, jar ...http.CookieJar) (*url.URL, error) {
	var j http.CookieJar
	if len(jar) > 0 && jar[0] != nil {
		j = jar[0]
	} else {
		j, _ = cookiejar.New(nil)
	}
	var reached *url.URL
	hc := &http.Client{Jar: j, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) {
			reached = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	get := func(u string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		return hc.Do(req)
	}
	resp, err := get(authURL)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if reached != nil {
		return reached, nil
	}
	// The sign-in page: /login/username?authRequestID=...
	login := resp.Request.URL
	id := login.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		return nil, fmt.Errorf("expected the sign-in page, got %d at %s", resp.StatusCode, login)
	}
	form := url.Values{"username": {username}, "password": {password}, "id": {id}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, login.Scheme+"://"+login.Host+login.Path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if reached == nil {
		return nil, fmt.Errorf("sign-in as %s did not reach %s (status %d): %.1000s", username, redirectURI, resp.StatusCode, body)
	}
	return reached, nil
}

func randomString() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
