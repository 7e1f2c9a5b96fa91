// Package oidcprovider runs a real OpenID Provider on loopback for tests and for `make run`: the
// zitadel/oidc OP (discovery, JWKS, authorization code with PKCE, refresh tokens, a username
// and password sign-in page) over its in-memory example storage, with lookfor's demo users and
// signing-key rotation. It stands in for a district's Google Workspace, Entra ID, Clever or
// ClassLink: nothing in lookfor knows it is not one of them.
package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	gosync "sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is someone who can sign in at the provider.
type User struct {
	Subject       string // the stable id the provider puts in sub
	Username      string // what they type on the sign-in page
	Password      string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	// Claims are extra ID token claims, such as Entra ID's xms_edov.
	Claims map[string]any
}

// Client is an application registered at the provider.
type Client struct {
	ID           string
	Secret       string   // empty: a public (native) client, such as a tablet app, using PKCE
	RedirectURIs []string // exact matches
}

// Provider is a running OpenID Provider.
type Provider struct {
	Issuer string // http://127.0.0.1:PORT
	st     *opStorage
	users  *userStore
	srv    *http.Server
	done   chan error
}

// Start serves a provider on addr ("127.0.0.1:0" for any free port) until Close.
func Start(addr string, users []User, clients []Client) (*Provider, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	issuer := "http://" + l.Addr().String()
	us := &userStore{byID: map[string]*storage.User{}}
	for _, u := range users {
		us.byID[u.Subject] = &storage.User{ID: u.Subject, Username: u.Username, Password: u.Password, FirstName: u.GivenName,
			LastName: u.FamilyName, Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.English}
	}
	cs := map[string]*storage.Client{}
	for _, c := range clients {
		if c.Secret == "" {
			cs[c.ID] = storage.NativeClient(c.ID, c.RedirectURIs...)
		} else {
			cs[c.ID] = storage.WebClient(c.ID, c.Secret, c.RedirectURIs...)
		}
	}
	st := &opStorage{Storage: storage.NewStorageWithClients(us, cs), extra: map[string]map[string]any{}}
	for _, u := range users {
		st.extra[u.Subject] = u.Claims
	}
	if err := st.Rotate(); err != nil {
		return nil, err
	}
	h, err := handler(issuer, st)
	if err != nil {
		l.Close()
		return nil, err
	}
	p := &Provider{Issuer: issuer, st: st, users: us, done: make(chan error, 1),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { p.done <- p.srv.Serve(l) }()
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if serr := <-p.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Rotate makes a new signing key current. The previous key stays published (tokens it signed
// still verify) until RetireOldKeys.
func (p *Provider) Rotate() error { return p.st.Rotate() }

// RetireOldKeys withdraws every key but the current one from the JWKS.
func (p *Provider) RetireOldKeys() { p.st.retire() }

// KeyIDs returns the ids of the published keys, current first.
func (p *Provider) KeyIDs() []string {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	out := make([]string, len(p.st.keys))
	for i, k := range p.st.keys {
		out[i] = k.id
	}
	return out
}

// opStorage is the example storage with lookfor's users and clients, rotating RS256 keys, and
// the user's email and profile in ID tokens (as Google and Entra ID put them there).
type opStorage struct {
	*storage.Storage
	extra map[string]map[string]any // subject → extra ID token claims (read only)
	mu    gosync.Mutex
	keys  []*rsaKey // current first
}

type rsaKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *rsaKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *rsaKey) Key() any                                    { return k.key }
func (k *rsaKey) ID() string                                  { return k.id }

type publicKey struct{ k *rsaKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

func (s *opStorage) Rotate() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append([]*rsaKey{{id: uuid.NewString(), key: key}}, s.keys...)
	return nil
}

func (s *opStorage) retire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = s.keys[:1]
}

// SigningKey implements op.Storage: the current key.
func (s *opStorage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0], nil
}

// SignatureAlgorithms implements op.Storage.
func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet implements op.Storage: every published key.
func (s *opStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, len(s.keys))
	for i, k := range s.keys {
		out[i] = publicKey{k}
	}
	return out, nil
}

// GetClientByClientID implements op.Storage: clients get the user's claims in the ID token.
func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c}, nil
}

type claimsInIDToken struct{ op.Client }

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the example storage's claims
// and the user's extra ones, in the ID token.
func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, userinfo *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, userinfo, token, scopes); err != nil {
		return err
	}
	for k, v := range s.extra[token.GetSubject()] {
		userinfo.AppendClaims(k, v)
	}
	return nil
}

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

// userStore serves the provider's users to the example storage: copies, so SetEmail may change
// a user while the provider serves.
type userStore struct {
	mu   gosync.Mutex
	byID map[string]*storage.User
}

func (u *userStore) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	if x, ok := u.byID[id]; ok {
		c := *x
		return &c
	}
	return nil
}
func (u *userStore) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.byID {
		if x.Username == name {
			c := *x
			return &c
		}
	}
	return nil
}
func (u *userStore) ExampleClientID() string { return "service" }

// SetEmail changes a user's email address (and whether it is verified) from now on, as when a
// district renames an account: the subject stays.
func (p *Provider) SetEmail(subject, email string, verified bool) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	if x, ok := p.users.byID[subject]; ok {
		x.Email, x.EmailVerified = email, verified
	}
}

// String names the provider for logs.
func (p *Provider) String() string { return fmt.Sprintf("OpenID Provider %s", p.Issuer) }

// handler is the provider's HTTP surface: the OP (discovery, authorize, token, keys, userinfo,
// end session) and the sign-in page the OP sends people to.
func handler(issuer string, st *opStorage) (http.Handler, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                [32]byte(key),
		DefaultLogoutRedirectURI: "/signed-out",
		CodeMethodS256:           true, // PKCE
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, err
	}
	callback := op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	mux.Handle("/login/username", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		id := r.FormValue("authRequestID")
		if r.Method == http.MethodPost {
			id = r.FormValue("id")
			if err := st.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err == nil {
				http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = signInPage.Execute(w, id)
	}))
	mux.HandleFunc("/signed-out", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("signed out")) })
	mux.Handle("/", provider)
	return mux, nil
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (lookfor development provider)</title></head>
<body><main><h1>Sign in</h1><p>lookfor's development identity provider. Demo users: see make run's output.</p>
<form method="post" action="/login/username"><input type="hidden" name="id" value="{{.}}">
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p></form></main></body></html>`))
