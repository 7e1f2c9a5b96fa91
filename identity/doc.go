// Package identity says who a caller is and what the roster lets them do (docs/identity.md,
// docs/access.md).
//
// A token says who someone is (issuer + subject, and perhaps a verified email): the network
// issuer's tokens are checked against a JWKS file or URL (Verifier), and those of the identity
// providers districts trust through OpenID Connect discovery (Trusted); either way JWTs signed
// with RS256, ES256 or EdDSA, with issuer, audience and expiry checks, keys refreshed in the
// background and at once, rate limited, when a token names a key id not seen yet. What they may
// do comes from lookfor's roster: Resolver links the identity to one staff record (by verified
// email or by subject the first time, by the link afterwards) whose district, role and sites are
// the caller's scope. Role, district or site claims inside a token grant nothing. Every call
// resolves again, so a roster change takes effect at the next call on every server process:
// there is no cache to invalidate. Settings lets district administrators choose the identity
// providers their district trusts.
//
// For development it mints tokens from a local Ed25519 key, and lets the tablet read whom a
// token was minted for without verifying it.
//
// It may import the standard library, the JWT, JWKS and OpenID Connect libraries and
// observation; never gen/, grpc, store or server. Reading the token off a gRPC or HTTP request
// is server's job (server/interceptors.go); the SQL is store's (store/identity.go).
package identity
