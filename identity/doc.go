// Package identity says who a caller is (docs/access.md). In production it verifies lookfor's
// bearer tokens: JWTs signed with RS256, ES256 or EdDSA, checked against a JWKS file or a JWKS
// URL (refreshed in the background, and at once, rate limited, when a token names a key id it
// has not seen: keys rotate without a restart), with issuer, audience and expiry checks, and
// turned into an observation.Principal. For development it mints tokens from a local Ed25519
// key, and lets the tablet read who a token names without verifying it.
//
// It may import the standard library, the JWT and JWKS libraries and observation; never gen/,
// grpc, store or server. Reading the token off a gRPC or HTTP request is server's job
// (server/interceptors.go).
package identity
