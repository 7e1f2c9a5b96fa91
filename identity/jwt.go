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
	"os"
	"path/filepath"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/lookfor-edu/lookfor/observation"
)

// claims are lookfor's token claims: the registered ones plus the caller's role and scope.
type claims struct {
	jwt.RegisteredClaims
	Role       string   `json:"role"`
	DistrictID string   `json:"district_id,omitempty"`
	SiteIDs    []string `json:"site_ids,omitempty"`
}

// principal returns the domain identity the claims describe.
func (c claims) principal() observation.Principal {
	return observation.Principal{UserID: c.Subject, Role: observation.Role(c.Role), DistrictID: c.DistrictID, SiteIDs: c.SiteIDs}
}

// Config says which tokens to accept.
type Config struct {
	Issuer   string
	Audience string
	JWKSFile string // a JWKS JSON document on disk
	JWKSURL  string // or a JWKS URL, fetched and refreshed in the background
	Leeway   time.Duration
	// RefreshInterval is how often the JWKS URL is fetched again (default 1h).
	RefreshInterval time.Duration
	// UnknownKeyRefresh is the least time between two extra fetches caused by a token signed
	// with a key id not in the cached set (default 1m): a rotated key is picked up at once,
	// while a flood of forged key ids cannot hammer the identity provider.
	UnknownKeyRefresh time.Duration
}

// Verifier checks bearer tokens.
type Verifier struct {
	kf     keyfunc.Keyfunc
	parser *jwt.Parser
}

// NewVerifier loads the keys named by cfg. With a URL, keys are fetched now and refreshed
// until ctx ends; a token naming an unknown key id triggers a refresh.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
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
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	return &Verifier{kf: kf, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "ES256", "EdDSA"}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	)}, nil
}

// Verify checks a token and returns the principal it names. Errors are KindUnauthenticated
// with a reason a client can act on.
func (v *Verifier) Verify(ctx context.Context, token string) (observation.Principal, error) {
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
		return observation.Principal{}, &observation.Error{Kind: observation.KindUnauthenticated, Reason: reason, Message: msg}
	}
	p := c.principal()
	if err := checkScope(p); err != nil {
		return observation.Principal{}, err
	}
	return p, nil
}

func checkScope(p observation.Principal) error {
	bad := func(msg string) error {
		return &observation.Error{Kind: observation.KindUnauthenticated, Reason: "TOKEN_CLAIMS", Message: "the bearer token's claims are incomplete: " + msg}
	}
	switch {
	case p.UserID == "":
		return bad("sub is empty")
	case !p.Role.Valid():
		return bad(fmt.Sprintf("role %q is not one of coach, principal, district_admin, network_analyst, admin", p.Role))
	case (p.Role == observation.RoleCoach || p.Role == observation.RolePrincipal || p.Role == observation.RoleDistrictAdmin) && p.DistrictID == "":
		return bad(fmt.Sprintf("role %s needs district_id", p.Role))
	case p.Role == observation.RolePrincipal && len(p.SiteIDs) == 0:
		return bad("a principal needs site_ids")
	}
	return nil
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
