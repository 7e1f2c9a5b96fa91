package web_test

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/browser"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestServed: the embedded front ends are served with validators, a 304 on revalidation, client
// routes fall back to index.html, and unknown assets are 404s.
func TestServed(t *testing.T) {
	t.Parallel()
	e := browser.Start(t)
	get := func(path, etag string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, e.BaseURL+path, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for _, path := range []string{"/", "/app/", "/sites/x", "/sites/riverbend-usd.lincoln-es", "/app/record"} {
		r := get(path, "")
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || !strings.Contains(string(b), "<!doctype html>") || r.Header.Get("ETag") == "" {
			t.Errorf("GET %s: %d, ETag %q, %.60s", path, r.StatusCode, r.Header.Get("ETag"), b)
		}
		if again := get(path, r.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, again.StatusCode)
		}
	}
	if r := get("/main.js", ""); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /main.js: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := get("/nothing.js", ""); r.StatusCode != 404 {
		t.Errorf("GET /nothing.js: %d, want 404", r.StatusCode)
	}
}

// TestSmoke signs a principal in through a real browser (see test/smoke.test.mjs).
func TestSmoke(t *testing.T) {
	t.Parallel()
	e := browser.Start(t)
	p := e.Users[observation.RolePrincipal]
	var email string
	for _, s := range e.Roster.Staff {
		if s.ID == p.UserID {
			email = s.Email
		}
	}
	e.Node(t, "smoke.test.mjs", "PRINCIPAL="+p.UserID, "PRINCIPAL_EMAIL="+email)
}

// TestRecordVectorsInApp: the app's content hash (src/app/record.js) gives the canonical JSON
// and hash of every shared vector in observation/testdata, and its validation (validate.js) the
// field and reason of every shared case, as the Go code does (observation.TestContentHashVectors,
// observation.TestRecordValidationCases).
func TestRecordVectorsInApp(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is missing: install Node.js 20 (the front ends need it)")
	}
	cmd := exec.Command("node", "--test", "test/record.test.mjs")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/record.test.mjs: %v\n%s", err, out)
	}
}
