package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/lookfor-edu/lookfor/observation"
)

// claims are the token claims lookfor reads: the registered ones and the email. Development
// tokens also carry the role, district and sites they were minted for, so that the tablet
// simulator knows whom it records as; the server never reads them (the roster decides scope).
type claims struct {
	jwt.RegisteredClaims
	Email         string   `json:"email,omitempty"`
	EmailVerified flexBool `json:"email_verified,omitempty"`
	// DomainVerified is Microsoft Entra ID's xms_edov: the email's domain is verified by the
	// tenant that owns it. Entra tokens carry no email_verified; with xms_edov the email counts
	// as verified.
	DomainVerified flexBool `json:"xms_edov,omitempty"`
	Role           string   `json:"role,omitempty"`
	DistrictID     string   `json:"district_id,omitempty"`
	SiteIDs        []string `json:"site_ids,omitempty"`
}

// flexBool reads a JSON boolean, or the strings "true" and "false" (as some identity providers
// send email_verified).
type flexBool bool

func (b *flexBool) UnmarshalJSON(raw []byte) error {
	switch string(raw) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("email_verified: %s is not a boolean", raw)
	}
	return nil
}

// principal returns the scope a development token was minted for (untrusted: see claims).
func (c claims) principal() observation.Principal {
	return observation.Principal{UserID: c.Subject, Role: observation.Role(c.Role), DistrictID: c.DistrictID, SiteIDs: c.SiteIDs}
}

// identity returns who the (verified) claims say the caller is.
func (c claims) identity() Identity {
	return Identity{Issuer: c.Issuer, Subject: c.Subject, Email: c.Email, EmailVerified: bool(c.EmailVerified || c.DomainVerified), Audience: c.Audience}
}

// Config says which tokens to accept.
type Config struct {
	Issuer    string
	Audience  string
	Audiences []string // more accepted audiences: a token naming any one of them (or Audience) passes
	JWKSFile  string   // a JWKS JSON document on disk
	JWKSURL   string   // or a JWKS URL, fetched and refreshed in the background
	Leeway    time.Duration
	// RefreshInterval is how often the JWKS URL is fetched again (default 1h).
	RefreshInterval time.Duration
	// UnknownKeyRefresh is the least time between two extra fetches caused by a token signed
	// with a key id not in the cached set (default 1m): a rotated key is picked up at once,
	// while a flood of forged key ids cannot hammer the identity provider.
	UnknownKeyRefresh time.Duration
	// HTTPClient fetches the JWKS URL (default: a 10s timeout).
	HTTPClient *http.Client
}

// Verifier checks bearer tokens.
type Verifier struct {
	issuer string
	kf     keyfunc.Keyfunc
	parser *jwt.Parser
}

// Issuer is the issuer the verifier accepts.
func (v *Verifier) Issuer() string { return v.issuer }

// algorithms are the signing algorithms accepted: asymmetric only, never none or HMAC.
var algorithms = []string{"RS256", "ES256", "EdDSA"}

func newParser(issuer string, audiences []string, leeway time.Duration) *jwt.Parser {
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	return jwt.NewParser(
		jwt.WithValidMethods(algorithms),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	)
}

// withAudiences returns a verifier sharing v's keys that accepts audiences instead.
func (v *Verifier) withAudiences(audiences []string, leeway time.Duration) *Verifier {
	return &Verifier{issuer: v.issuer, kf: v.kf, parser: newParser(v.issuer, audiences, leeway)}
}

// NewVerifier loads the keys named by cfg. With a URL, keys are fetched now and refreshed
// until ctx ends; a token naming an unknown key id triggers a refresh.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	audiences := cfg.Audiences
	if cfg.Audience != "" {
		audiences = append([]string{cfg.Audience}, audiences...)
	}
	if cfg.Issuer == "" || len(audiences) == 0 {
		return nil, errors.New("jwt: issuer and audience are required")
	}
	var (
		kf  keyfunc.Keyfunc
		err error
	)
	switch {
	case cfg.JWKSFile != "" && cfg.JWKSURL != "":
		return nil, errors.New("jwt: set a JWKS file or a JWKS URL, not both")
	case cfg.JWKSFile != "":
		raw, rerr := os.ReadFile(cfg.JWKSFile)
		if rerr != nil {
			return nil, fmt.Errorf("jwt: %w", rerr)
		}
		kf, err = keyfunc.NewJWKSetJSON(raw)
	case cfg.JWKSURL != "":
		interval, unknown := cfg.RefreshInterval, cfg.UnknownKeyRefresh
		if interval <= 0 {
			interval = time.Hour
		}
		if unknown <= 0 {
			unknown = time.Minute
		}
		kf, err = keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			Client:            cfg.HTTPClient,
			HTTPTimeout:       10 * time.Second,
			RefreshInterval:   interval,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(unknown), 1),
			// The limiter's Wait returns at once when the delay it needs exceeds this bound, so a
			// request never waits out the refresh interval; the bound only has to leave the
			// allowed refresh time to start on a busy machine (1ms did not, under load).
			RateLimitWaitMax: min(time.Second, unknown/2),
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(context.Context, error) {} // a failed refresh keeps the cached keys
			},
		})
	default:
		return nil, errors.New("jwt: no keys configured: set a JWKS file or a JWKS URL")
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: loading keys: %w", err)
	}
	return &Verifier{issuer: cfg.Issuer, kf: kf, parser: newParser(cfg.Issuer, audiences, cfg.Leeway)}, nil
}

// Verify checks a token and returns the identity it names. Errors are KindUnauthenticated
// with a reason a client can act on.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	if err := CheckTokenShape(token); err != nil {
		return Identity{}, err
	}
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, v.kf.KeyfuncCtx(ctx))
	if err != nil {
		reason, msg := "TOKEN_INVALID", "the bearer token is not valid"
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			reason, msg = "TOKEN_EXPIRED", "the bearer token has expired; sign in again"
		case errors.Is(err, jwt.ErrTokenMalformed):
			reason, msg = "TOKEN_MALFORMED", "the bearer token is not a well-formed JWT"
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			reason, msg = "TOKEN_ISSUER", "the bearer token was issued by an issuer this server does not trust"
		case errors.Is(err, jwt.ErrTokenInvalidAudience):
			reason, msg = "TOKEN_AUDIENCE", "the bearer token is meant for another audience"
		case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
			reason, msg = "TOKEN_SIGNATURE", "the bearer token's signature does not verify against the configured keys"
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			reason, msg = "TOKEN_CLAIMS", "the bearer token lacks a required claim (exp)"
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			reason, msg = "TOKEN_NOT_YET_VALID", "the bearer token is not valid yet"
		}
		return Identity{}, &observation.Error{Kind: observation.KindUnauthenticated, Reason: reason, Message: msg}
	}
	id := c.identity()
	if err := CheckClaims(id); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// DevKey is a local Ed25519 signing key for development tokens.
type DevKey struct {
	id   string // the key id (kid) tokens name, derived from the public key
	priv ed25519.PrivateKey
}

// Dev key file names inside the dev key folder.
const (
	DevKeyFile  = "jwt-ed25519.pem"
	devJWKSFile = "jwks.json"
)

// EnsureDevKey loads the dev key in dir, creating it (and the matching public JWKS file) when
// absent. It returns the key and the JWKS file path.
func EnsureDevKey(dir string) (DevKey, string, error) {
	keyPath, jwksPath := filepath.Join(dir, DevKeyFile), filepath.Join(dir, devJWKSFile)
	if k, err := loadDevKey(keyPath); err == nil {
		if _, err := os.Stat(jwksPath); err == nil {
			return k, jwksPath, nil
		}
		return k, jwksPath, writeJWKS(jwksPath, k)
	} else if !errors.Is(err, os.ErrNotExist) {
		return DevKey{}, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return DevKey{}, "", err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return DevKey{}, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return DevKey{}, "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return DevKey{}, "", err
	}
	k := DevKey{id: keyID(priv.Public().(ed25519.PublicKey)), priv: priv}
	return k, jwksPath, writeJWKS(jwksPath, k)
}

// loadDevKey reads a PKCS#8 PEM Ed25519 key.
func loadDevKey(path string) (DevKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return DevKey{}, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return DevKey{}, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return DevKey{}, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return DevKey{}, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return DevKey{id: keyID(priv.Public().(ed25519.PublicKey)), priv: priv}, nil
}

// keyID derives a stable key id from the public key.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// JWKS returns the public JWKS document for the key.
func (k DevKey) JWKS() ([]byte, error) {
	jwk, err := jwkset.NewJWKFromKey(k.priv.Public(), jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: k.id, ALG: jwkset.AlgEdDSA, USE: jwkset.UseSig},
	})
	if err != nil {
		return nil, err
	}
	set := jwkset.NewMemoryStorage()
	if err := set.KeyWrite(context.Background(), jwk); err != nil {
		return nil, err
	}
	return set.JSONPublic(context.Background())
}

func writeJWKS(path string, k DevKey) error {
	b, err := k.JWKS()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Mint signs a token for p valid for ttl.
func (k DevKey) Mint(p observation.Principal, issuer, audience string, ttl time.Duration) (string, error) {
	now := time.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.UserID,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role: string(p.Role), DistrictID: p.DistrictID, SiteIDs: p.SiteIDs,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = k.id
	return t.SignedString(k.priv)
}

// Peek reads a token's principal without verifying it: for the tablet, which only needs to know
// who it records as. The server always verifies.
func Peek(token string) (observation.Principal, error) {
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return observation.Principal{}, fmt.Errorf("the token is not a readable JWT: %w", err)
	}
	return c.principal(), nil
}
