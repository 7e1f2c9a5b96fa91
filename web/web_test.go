package web_test

import (
	"io"
	"net/http"
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
	for _, path := range []string{"/", "/app/", "/sites/x", "/app/record"} {
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
	e.Node(t, "smoke.test.mjs", "PRINCIPAL="+e.Users[observation.RolePrincipal].UserID)
}
