package identity

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"
	"strings"
	"unicode/utf8"

	"github.com/lookfor-edu/lookfor/observation"
)

// Limits on what a token may be before any signature check or database work. Real ID and
// access tokens from Google, Entra ID, Clever and ClassLink are 1-3 KiB.
const (
	// MaxTokenBytes is the largest token accepted.
	MaxTokenBytes = 8 << 10
	// MaxClaimBytes is the longest iss, sub or email accepted.
	MaxClaimBytes = 255
)

// Reason codes of malformed tokens.
const (
	ReasonTokenTooLarge  = "TOKEN_TOO_LARGE"
	ReasonTokenClaims    = "TOKEN_CLAIMS"
	ReasonTokenMalformed = "TOKEN_MALFORMED"
)

func unauthenticated(reason, format string, args ...any) error {
	return &observation.Error{Kind: observation.KindUnauthenticated, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// CheckTokenShape refuses tokens that are too large or are not three base64url parts, before
// any parsing.
func CheckTokenShape(token string) error {
	if len(token) > MaxTokenBytes {
		return unauthenticated(ReasonTokenTooLarge, "the bearer token is %d bytes; the limit is %d", len(token), MaxTokenBytes)
	}
	if strings.Count(token, ".") != 2 || strings.ContainsFunc(token, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return unauthenticated(ReasonTokenMalformed, "the bearer token is not a well-formed JWT (three base64url parts)")
	}
	return nil
}

// CheckClaims refuses identities whose claims are empty, too long, or hold NUL, control
// characters or invalid UTF-8: they would otherwise reach the database and the audit log.
func CheckClaims(id Identity) error {
	for _, c := range []struct{ name, v string }{{"iss", id.Issuer}, {"sub", id.Subject}, {"email", id.Email}} {
		switch {
		case c.v == "" && c.name != "email":
			return unauthenticated(ReasonTokenClaims, "the bearer token's %s claim is empty", c.name)
		case len(c.v) > MaxClaimBytes:
			return unauthenticated(ReasonTokenClaims, "the bearer token's %s claim is %d bytes; the limit is %d", c.name, len(c.v), MaxClaimBytes)
		case !utf8.ValidString(c.v) || strings.ContainsFunc(c.v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return unauthenticated(ReasonTokenClaims, "the bearer token's %s claim holds control characters or invalid UTF-8", c.name)
		}
	}
	return nil
}

// Unverified returns the identity a token claims without checking its signature, for the audit
// log of a refused token only (never for access): its shape and claims pass the same limits.
func Unverified(token string) (Identity, bool) {
	if CheckTokenShape(token) != nil {
		return Identity{}, false
	}
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return Identity{}, false
	}
	id := Identity{Issuer: c.Issuer, Subject: c.Subject, Email: c.Email, EmailVerified: bool(c.EmailVerified)}
	return id, CheckClaims(id) == nil
}
