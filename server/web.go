package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/csrf"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
)

// WebConfig turns on sign-in for the pages: an OpenID Connect relying party (authorization code
// with PKCE, state and nonce) whose session cookie the gateway accepts beside bearer tokens.
//
// Web sign-in is on when RedirectURL is set. People sign in at their district's own provider
// (the district's identity settings give it a web client; its secret is read from
// SecretsDir/<district>/<reference>), or at the network's provider (Issuer, ClientID,
// ClientSecret; optional).
type WebConfig struct {
	identity.WebConfig // RedirectURL empty: no web sign-in (bearer tokens only)
	// SecretsDir holds districts' web client secrets, one directory per district.
	SecretsDir string
	// CookieSecure marks the session and CSRF cookies Secure (default true; only a server on
	// loopback over plain HTTP may turn it off).
	CookieSecure bool
	// IdleTimeout ends a session unused this long (default 30m); Lifetime ends any session this
	// long after sign-in (default 12h).
	IdleTimeout, Lifetime time.Duration
	// Key signs the CSRF cookie: 32 bytes shared by every process behind one address (default:
	// random per process, enough for one process).
	Key []byte
}

// Metadata the gateway sends for a cookie session. The authentication interceptor believes the
// identity in it only next to the process's own secret, which never leaves the process.
const (
	mdSessionSecret   = "x-lookfor-session-secret"
	mdSessionIssuer   = "x-lookfor-session-iss"
	mdSessionSubject  = "x-lookfor-session-sub"
	mdSessionEmail    = "x-lookfor-session-email"
	mdSessionVerified = "x-lookfor-session-email-verified"
	mdSessionAudience = "x-lookfor-session-aud"
	// mdSessionEnded says the call came with a session cookie whose session is gone (signed
	// out, idle too long, past its lifetime): 401 SESSION_ENDED rather than "no credentials".
	mdSessionEnded = "x-lookfor-session-ended"
)

// ReasonSessionEnded is the reason of a call made with a session cookie whose session has ended.
const ReasonSessionEnded = "SESSION_ENDED"

// Session keys.
const (
	sessIssuer, sessSubject, sessEmail, sessVerified = "iss", "sub", "email", "email_verified"
	sessAudience                                     = "aud" // the ID token's audiences, space-separated
	sessState, sessNonce, sessVerifier, sessReturnTo = "pending_state", "pending_nonce", "pending_verifier", "pending_return_to"
	sessChoiceDistrict, sessChoiceIssuer             = "pending_district", "pending_issuer"
)

// web is the pages' sign-in: sessions, CSRF and the /auth endpoints.
type web struct {
	providers *identity.WebProviders
	sessions  *scs.SessionManager
	csrf      func(http.Handler) http.Handler
	secret    string
	resolver  *identity.Resolver
	refusals  *identity.Refusals
	audit     func(context.Context, observation.AuditEntry) error
	log       *zap.Logger
}

// webStore is the storage web sign-in needs (store.Store).
type webStore interface {
	identity.WebProviderStore
	identity.RefusalStore
	Audit(ctx context.Context, e observation.AuditEntry) error
}

func newWeb(cfg WebConfig, sessions scs.CtxStore, st webStore, resolver *identity.Resolver, refusals *identity.Refusals, log *zap.Logger) *web {
	var b [32]byte
	_, _ = rand.Read(b[:])
	w := &web{secret: hex.EncodeToString(b[:]), resolver: resolver, refusals: refusals, audit: st.Audit, log: log}
	if cfg.RedirectURL == "" {
		return w
	}
	network := cfg.WebConfig
	network.RedirectURL, network.HTTPClient = "", nil
	w.providers = &identity.WebProviders{Network: network, Store: st, SecretsDir: cfg.SecretsDir, RedirectURL: cfg.RedirectURL, HTTPClient: cfg.HTTPClient}
	w.sessions = scs.New()
	w.sessions.Store = sessions
	w.sessions.IdleTimeout, w.sessions.Lifetime = cmp(cfg.IdleTimeout, 30*time.Minute), cmp(cfg.Lifetime, 12*time.Hour)
	w.sessions.Cookie.Name = "lookfor_session"
	w.sessions.Cookie.HttpOnly, w.sessions.Cookie.Secure, w.sessions.Cookie.SameSite = true, cfg.CookieSecure, http.SameSiteLaxMode
	w.sessions.Cookie.Persist = false
	key := cfg.Key
	if len(key) != 32 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	w.csrf = csrf.Protect(key, csrf.Secure(cfg.CookieSecure), csrf.Path("/"), csrf.SameSite(csrf.SameSiteLaxMode),
		csrf.CookieName("lookfor_csrf"), csrf.RequestHeader("X-CSRF-Token"),
		csrf.ErrorHandler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			writeJSON(rw, http.StatusForbidden, map[string]any{"code": 7, "reason": "CSRF_TOKEN",
				"message": "a call made with the session cookie that changes something needs the X-CSRF-Token header (GET /auth/session gives the token): " + csrf.FailureReason(r).Error()})
		})))
	return w
}

func cmp(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// protect wraps the gateway and /auth: calls with a bearer token, or with no session cookie, pass
// without a CSRF check; cookie calls (and /auth) that change something need the CSRF token.
func (w *web) protect(next http.Handler) http.Handler {
	if w.sessions == nil {
		return next
	}
	checked := w.csrf(next)
	return w.sessions.LoadAndSave(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || (!hasCookie(r, w.sessions.Cookie.Name) && !strings.HasPrefix(r.URL.Path, "/auth/")) {
			next.ServeHTTP(rw, r) // nothing cookie-authenticated: no CSRF to check (401 as before)
			return
		}
		if r.TLS == nil {
			r = csrf.PlaintextHTTPRequest(r)
		}
		checked.ServeHTTP(rw, r)
	}))
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

// metadata is the gateway's annotator: a cookie session's identity, for the interceptor.
func (w *web) metadata(ctx context.Context, r *http.Request) metadata.MD {
	if w.sessions == nil || r.Header.Get("Authorization") != "" {
		return nil
	}
	id, ok := w.identity(r.Context())
	if !ok {
		if hasCookie(r, w.sessions.Cookie.Name) {
			return metadata.Pairs(mdSessionSecret, w.secret, mdSessionEnded, "true")
		}
		return nil
	}
	verified := "false"
	if id.EmailVerified {
		verified = "true"
	}
	return metadata.Pairs(mdSessionSecret, w.secret, mdSessionIssuer, id.Issuer, mdSessionSubject, id.Subject,
		mdSessionEmail, id.Email, mdSessionVerified, verified, mdSessionAudience, joinAudiences(id.Audience))
}

func (w *web) identity(ctx context.Context) (identity.Identity, bool) {
	sub := w.sessions.GetString(ctx, sessSubject)
	if sub == "" {
		return identity.Identity{}, false
	}
	return identity.Identity{Issuer: w.sessions.GetString(ctx, sessIssuer), Subject: sub, Email: w.sessions.GetString(ctx, sessEmail),
		EmailVerified: w.sessions.GetBool(ctx, sessVerified), Audience: strings.Fields(w.sessions.GetString(ctx, sessAudience))}, true
}

// joinAudiences keeps a token's audiences for the session: those that are printable ASCII
// without spaces (as every audience a district can configure is), space-separated.
func joinAudiences(auds []string) string {
	var keep []string
	for _, a := range auds {
		if a != "" && !strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			keep = append(keep, a)
		}
	}
	return strings.Join(keep, " ")
}

// fromMetadata returns the session identity the gateway put in the call's metadata, if it came
// with this process's secret (exactly one of each value: a client cannot add its own). A call
// whose session cookie names an ended session is refused with SESSION_ENDED.
func (w *web) fromMetadata(ctx context.Context) (identity.Identity, bool, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	one := func(k string) (string, bool) {
		v := md.Get(k)
		return strings.Join(v, ""), len(v) == 1
	}
	secret, ok := one(mdSessionSecret)
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(w.secret)) != 1 {
		return identity.Identity{}, false, nil
	}
	if ended, _ := one(mdSessionEnded); ended == "true" {
		return identity.Identity{}, false, &observation.Error{Kind: observation.KindUnauthenticated, Reason: ReasonSessionEnded,
			Message: "the session has ended (signed out, unused for longer than the idle timeout, or older than the session lifetime); sign in again at /auth/login"}
	}
	iss, ok1 := one(mdSessionIssuer)
	sub, ok2 := one(mdSessionSubject)
	email, ok3 := one(mdSessionEmail)
	verified, ok4 := one(mdSessionVerified)
	aud, ok5 := one(mdSessionAudience)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return identity.Identity{}, false, nil
	}
	return identity.Identity{Issuer: iss, Subject: sub, Email: email, EmailVerified: verified == "true", Audience: strings.Fields(aud)}, true, nil
}

// routes are the /auth endpoints (404 without web sign-in).
func (w *web) routes() http.Handler {
	mux := http.NewServeMux()
	if w.sessions == nil {
		return mux
	}
	mux.HandleFunc("GET /auth/login", w.login)
	mux.HandleFunc("GET /auth/callback", w.callback)
	mux.HandleFunc("GET /auth/session", w.session)
	mux.HandleFunc("POST /auth/logout", w.logout)
	return mux
}

func (w *web) fail(rw http.ResponseWriter, err error) {
	st, _ := status.FromError(toStatus(err))
	var reason string
	if e, ok := err.(*observation.Error); ok {
		reason = e.Reason
	}
	if st.Code() == codes.Unavailable || st.Code() == codes.Internal { // log the cause
		w.log.Warn("web sign-in", zap.Error(err))
	}
	writeJSON(rw, runtime.HTTPStatusFromCode(st.Code()), map[string]any{"code": int(st.Code()), "reason": reason, "message": st.Message()})
}

// login sends the browser to the identity provider: the district's (?district=<id>, with
// &issuer= when it has several for the pages; or ?email=<address>, by its domain), else the
// network's.
func (w *web) login(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	choice, err := w.providers.Choose(ctx, q.Get("district"), q.Get("issuer"), q.Get("email"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	si, err := w.providers.SignIn(ctx, choice)
	if err != nil {
		w.fail(rw, err)
		return
	}
	u, p, err := si.Start(ctx, q.Get("return_to"), q.Get("email"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	w.sessions.Put(ctx, sessChoiceDistrict, choice.District)
	w.sessions.Put(ctx, sessChoiceIssuer, choice.Issuer)
	w.sessions.Put(ctx, sessState, p.State)
	w.sessions.Put(ctx, sessNonce, p.Nonce)
	w.sessions.Put(ctx, sessVerifier, p.Verifier)
	w.sessions.Put(ctx, sessReturnTo, p.ReturnTo)
	http.Redirect(rw, r, u, http.StatusFound)
}

// callback finishes a sign-in: the person must be on the roster and active; the session is
// renewed (a new cookie value) and holds their identity, never a token.
func (w *web) callback(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := identity.Pending{State: w.sessions.PopString(ctx, sessState), Nonce: w.sessions.PopString(ctx, sessNonce),
		Verifier: w.sessions.PopString(ctx, sessVerifier), ReturnTo: w.sessions.PopString(ctx, sessReturnTo)}
	choice := identity.WebChoice{District: w.sessions.PopString(ctx, sessChoiceDistrict), Issuer: w.sessions.PopString(ctx, sessChoiceIssuer)}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		w.fail(rw, &observation.Error{Kind: observation.KindUnauthenticated, Reason: identity.ReasonSignInFailed,
			Message: "the identity provider did not sign you in (" + observation.Clip(e) + ")"})
		return
	}
	if p.State == "" { // no sign-in under way in this browser: nothing to finish
		w.fail(rw, &observation.Error{Kind: observation.KindUnauthenticated, Reason: identity.ReasonSignInFailed,
			Message: "no sign-in is under way in this browser (or it was already finished); start again at /auth/login"})
		return
	}
	si, err := w.providers.SignIn(ctx, choice)
	if err != nil {
		w.fail(rw, err)
		return
	}
	id, err := si.Finish(ctx, p, q.Get("code"), q.Get("state"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	principal, err := w.resolver.Resolve(ctx, id)
	if err != nil {
		w.refused(ctx, id, err, identity.MethodWeb, choice.District, true)
		w.fail(rw, err)
		return
	}
	if err := w.sessions.RenewToken(ctx); err != nil {
		w.fail(rw, observation.Unavailable(err, "the session could not be started"))
		return
	}
	w.sessions.Put(ctx, sessIssuer, id.Issuer)
	w.sessions.Put(ctx, sessSubject, id.Subject)
	w.sessions.Put(ctx, sessEmail, id.Email)
	w.sessions.Put(ctx, sessVerified, id.EmailVerified)
	w.sessions.Put(ctx, sessAudience, joinAudiences(id.Audience))
	a := observation.Audit(principal, principal.DistrictID, "identity.signin", "staff", principal.UserID, time.Now().UTC())
	a.Details["issuer"], a.Details["subject"], a.Details["method"] = id.Issuer, id.Subject, "web"
	if err := w.audit(ctx, a); err != nil {
		w.log.Warn("auditing a sign-in", zap.Error(err))
	}
	http.Redirect(rw, r, p.ReturnTo, http.StatusFound)
}

// refused records a refused sign-in in the audit log of the district it concerns (or, when none
// can be told, in the server's log only).
func (w *web) refused(ctx context.Context, id identity.Identity, err error, method, fallback string, verified bool) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	district, aerr := w.refusals.Record(actx, id, err, method, fallback, verified)
	fields := []zap.Field{zap.String("method", method), zap.String("issuer", id.Issuer), zap.String("subject", id.Subject), zap.Error(err)}
	switch {
	case aerr != nil:
		w.log.Warn("could not record a refused sign-in in the audit log", append(fields, zap.String("district", district), zap.NamedError("audit", aerr))...)
	case district == "":
		w.log.Info("sign-in refused; no district to audit it in", fields...)
	}
}

// session says who is signed in (resolved through the roster now) and gives the CSRF token that
// cookie-authenticated calls that change something must send as X-CSRF-Token.
func (w *web) session(rw http.ResponseWriter, r *http.Request) {
	out := map[string]any{"signed_in": false, "csrf_token": csrf.Token(r)}
	if id, ok := w.identity(r.Context()); ok {
		p, err := w.resolver.Resolve(r.Context(), id)
		if err == nil {
			out["signed_in"], out["user_id"], out["role"], out["district_id"], out["site_ids"] = true, p.UserID, string(p.Role), p.DistrictID, p.SiteIDs
		} else if e, ok := err.(*observation.Error); ok {
			out["reason"] = e.Reason
		}
	}
	rw.Header().Set("Cache-Control", "no-store")
	writeJSON(rw, http.StatusOK, out)
}

// logout ends the session on the server (its row is deleted: the cookie is worthless).
func (w *web) logout(rw http.ResponseWriter, r *http.Request) {
	if err := w.sessions.Destroy(r.Context()); err != nil {
		w.fail(rw, observation.Unavailable(err, "the session could not be ended"))
		return
	}
	writeJSON(rw, http.StatusOK, map[string]any{"signed_out": true})
}
