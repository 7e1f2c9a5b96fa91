package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/identity"
)

// --- 3. token -------------------------------------------------------------------------------

// tokenKID returns the kid of a JWT's header.
func tokenKID(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h struct {
		Alg, Kid string
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	if h.Kid == "" || h.Alg == "" {
		t.Fatalf("token header without alg/kid: %s", b)
	}
	return h.Kid
}

func TestToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")

	out := mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--demo")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	wantRoles := []string{"coach", "principal", "district_admin", "network_analyst", "admin"}
	if len(lines) != len(wantRoles) {
		t.Fatalf("token --demo printed %d lines, want %d:\n%s", len(lines), len(wantRoles), out)
	}
	var kid string
	for i, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("line %q: want role\\tuser\\ttoken", line)
		}
		if f[0] != wantRoles[i] {
			t.Errorf("line %d role %q, want %q", i, f[0], wantRoles[i])
		}
		if f[1] == "" {
			t.Errorf("line %d has no user", i)
		}
		k := tokenKID(t, f[2])
		if kid == "" {
			kid = k
		} else if k != kid {
			t.Errorf("tokens signed with different keys: %s, %s", kid, k)
		}
	}

	fi, err := os.Stat(filepath.Join(keyDir, identity.DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("private key mode %v, want 0600", perm)
	}

	jwksPath := strings.TrimSpace(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--jwks-path"))
	if filepath.Dir(jwksPath) != keyDir {
		t.Errorf("--jwks-path %q is not in %s", jwksPath, keyDir)
	}
	b, err := os.ReadFile(jwksPath)
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &jwks); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, b)
	}
	if len(jwks.Keys) == 0 {
		t.Fatalf("JWKS has no keys: %s", b)
	}
	if jwks.Keys[0].Kid != kid {
		t.Errorf("JWKS kid %q, tokens signed with %q", jwks.Keys[0].Kid, kid)
	}
	if jwks.Keys[0].D != "" {
		t.Errorf("JWKS publishes the private key")
	}

	// The key is reused, not regenerated.
	again := strings.Split(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--demo"), "\n")[0]
	if k := tokenKID(t, strings.Split(again, "\t")[2]); k != kid {
		t.Errorf("second run signed with %q, first with %q", k, kid)
	}

	// One token for a given principal.
	one := strings.TrimSpace(mustRun(t, dir, nil, "token", "--key-dir", keyDir, "--role", "coach", "--user", "u-1", "--district", "d-1"))
	if tokenKID(t, one) != kid {
		t.Errorf("single token signed with another key")
	}

	mustFail(t, dir, nil, "--role", "token", "--key-dir", keyDir, "--role", "nonsense", "--user", "u-1")
	mustFail(t, dir, nil, "--user", "token", "--key-dir", keyDir, "--role", "coach")
	mustFail(t, dir, []string{"LOOKFOR_ROLE=nonsense", "LOOKFOR_USER=u-1"}, "--role", "token", "--key-dir", keyDir)
}
