package identity_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
)

// jwksServer serves the public keys of whichever dev keys it currently holds, on loopback, and
// counts the fetches.
type jwksServer struct {
	mu      gosync.Mutex
	keys    []identity.DevKey
	fetches atomic.Int32
	srv     *httptest.Server
}

func newJWKSServer(t *testing.T, keys ...identity.DevKey) *jwksServer {
	j := &jwksServer{keys: keys}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		j.fetches.Add(1)
		j.mu.Lock()
		defer j.mu.Unlock()
		// Merge the keys of each dev key's own single-key set.
		out := []byte(`{"keys":[`)
		for i, k := range j.keys {
			set, err := k.JWKS()
			if err != nil {
				t.Error(err)
				return
			}
			// set is {"keys":[ {...} ]}: take the inner object.
			inner := set[len(`{"keys":[`) : len(set)-2]
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, inner...)
		}
		out = append(out, "]}"...)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) serve(keys ...identity.DevKey) {
	j.mu.Lock()
	j.keys = keys
	j.mu.Unlock()
}

func newKey(t *testing.T) identity.DevKey {
	k, _, err := identity.EnsureDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var coach = observation.Principal{UserID: "riverbend-usd.coach-1", Role: observation.RoleCoach, DistrictID: "riverbend-usd", SiteIDs: []string{"s1"}}

func mint(t *testing.T, k identity.DevKey) string {
	tok, err := k.Mint(coach, "iss", "aud", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func reason(err error) string {
	var e *observation.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// TestKeyRotation: keys come from a JWKS URL and are cached; a token signed with a key id the
// cache lacks triggers one refresh, which picks up a rotated key; a second unknown key id soon
// after does not trigger another fetch.
func TestKeyRotation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	oldKey, newKeyA, forged := newKey(t), newKey(t), newKey(t)
	js := newJWKSServer(t, oldKey)
	v, err := identity.NewVerifier(ctx, identity.Config{Issuer: "iss", Audience: "aud", JWKSURL: js.srv.URL, UnknownKeyRefresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("fetches after start = %d, want 1", n)
	}
	for i := 0; i < 5; i++ { // cached: verifying does not fetch
		if _, err := v.Verify(ctx, mint(t, oldKey)); err != nil {
			t.Fatalf("token of the current key: %v", err)
		}
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("fetches after verifying with cached keys = %d, want 1", n)
	}

	// The identity provider rotates: the new key is published, the old one withdrawn.
	js.serve(newKeyA)
	p, err := v.Verify(ctx, mint(t, newKeyA))
	if err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if p.Subject != coach.UserID || p.Issuer != "iss" {
		t.Fatalf("identity %+v", p)
	}
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("fetches after an unknown key id = %d, want 2 (one refresh)", n)
	}
	// The withdrawn key no longer verifies, without another fetch.
	if _, err := v.Verify(ctx, mint(t, oldKey)); reason(err) != "TOKEN_SIGNATURE" {
		t.Fatalf("token of the withdrawn key: %v (reason %q), want TOKEN_SIGNATURE", err, reason(err))
	}
	// Another unknown key id right after: refused, and the refresh is not repeated.
	if _, err := v.Verify(ctx, mint(t, forged)); reason(err) != "TOKEN_SIGNATURE" {
		t.Fatalf("token of an unknown key: %v (reason %q), want TOKEN_SIGNATURE", err, reason(err))
	}
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("fetches after a second unknown key id = %d, want still 2", n)
	}
}

// TestJWKSRefreshInterval: the keys are fetched again on the configured interval.
func TestJWKSRefreshInterval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := newKey(t)
	js := newJWKSServer(t, k)
	if _, err := identity.NewVerifier(ctx, identity.Config{Issuer: "iss", Audience: "aud", JWKSURL: js.srv.URL,
		RefreshInterval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for js.fetches.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := js.fetches.Load(); n < 3 {
		t.Fatalf("fetches = %d after waiting, want periodic refreshes", n)
	}
}

// TestVerifyFailures: each way a token can be wrong has its own reason.
func TestVerifyFailures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k, jwks, err := identity.EnsureDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := identity.NewVerifier(ctx, identity.Config{Issuer: "iss", Audience: "aud", JWKSFile: jwks})
	if err != nil {
		t.Fatal(err)
	}
	mustMint := func(p observation.Principal, iss, aud string, ttl time.Duration) string {
		tok, err := k.Mint(p, iss, aud, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	with := func(sub string) observation.Principal { p := coach; p.UserID = sub; return p }
	cases := []struct {
		name, token, reason string
	}{
		{"garbage", "not-a-jwt", "TOKEN_MALFORMED"},
		{"expired", mustMint(coach, "iss", "aud", -time.Hour), "TOKEN_EXPIRED"},
		{"issuer", mustMint(coach, "other", "aud", time.Hour), "TOKEN_ISSUER"},
		{"audience", mustMint(coach, "iss", "other", time.Hour), "TOKEN_AUDIENCE"},
		{"signature", mint(t, newKey(t)), "TOKEN_SIGNATURE"},
		{"over 8 KiB", mustMint(with(strings.Repeat("a", 7000)), "iss", "aud", time.Hour), "TOKEN_TOO_LARGE"},
		{"not base64url", "a.b.c\x00", "TOKEN_MALFORMED"},
		{"empty sub", mustMint(with(""), "iss", "aud", time.Hour), "TOKEN_CLAIMS"},
		{"NUL in sub", mustMint(with("coach\x00; DROP"), "iss", "aud", time.Hour), "TOKEN_CLAIMS"},
		{"over-long sub", mustMint(with(strings.Repeat("s", 256)), "iss", "aud", time.Hour), "TOKEN_CLAIMS"},
		{"alg none", unsigned(t, "none"), "TOKEN_SIGNATURE"},
		{"alg HS256", unsigned(t, "HS256"), "TOKEN_SIGNATURE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(ctx, c.token)
			if observation.KindOf(err) != observation.KindUnauthenticated || reason(err) != c.reason {
				t.Fatalf("err %v (reason %q), want unauthenticated %s", err, reason(err), c.reason)
			}
		})
	}
	// Peek reads the claims without verifying.
	p, err := identity.Peek(mustMint(coach, "iss", "aud", time.Hour))
	if err != nil || p.UserID != coach.UserID || p.Role != coach.Role {
		t.Fatalf("Peek: %+v %v", p, err)
	}
}

// unsigned returns a token for coach whose header names alg, with a signature that is empty
// (alg none) or an HMAC under a key anyone could guess: the algorithm allow-list refuses both.
func unsigned(t *testing.T, alg string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now().Unix()
	payload := fmt.Sprintf(`{"iss":"iss","aud":"aud","sub":%q,"iat":%d,"exp":%d}`, coach.UserID, now, now+3600)
	signing := enc([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + enc([]byte(payload))
	if alg == "none" {
		return signing + "."
	}
	m := hmac.New(sha256.New, []byte("secret"))
	m.Write([]byte(signing))
	return signing + "." + enc(m.Sum(nil))
}
