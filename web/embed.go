// Package web holds lookfor's browser front ends, built from web/src into web/dist by
// `make web` (esbuild through npm, pinned by package-lock.json) and embedded in the binary, so
// the pages work on a school network with no internet egress:
//
//   - dist/pages: the principal, district and network pages, served at /;
//   - dist/app: the installable offline tablet app, served at /app/.
//
// It may import only the standard library: the server mounts its handlers.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Part is one built front end: a folder of dist/ served under a path prefix.
type Part string

// The front ends.
const (
	Pages Part = "pages" // served at /
	App   Part = "app"   // served at /app/
)

// Handler serves a part's files under prefix ("/" or "/app/"). Every response carries a strong
// ETag (the content's SHA-256) and Cache-Control: no-cache, so a browser revalidates with a
// cheap 304 and never runs a stale bundle after an upgrade. A path with no file extension that
// names no file gets the part's index.html (the front ends route on the client).
func Handler(p Part, prefix string) http.Handler {
	sub, err := fs.Sub(dist, path.Join("dist", string(p)))
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	etags := map[string]string{}
	_ = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(sub, name)
			sum := sha256.Sum256(b)
			etags[name] = `"` + hex.EncodeToString(sum[:16]) + `"`
		}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, prefix)
		if name == "" || strings.HasSuffix(name, "/") {
			name += "index.html"
		}
		if _, ok := etags[name]; !ok {
			if path.Ext(name) != "" {
				http.NotFound(w, r)
				return
			}
			name = "index.html"
		}
		f, err := sub.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		h := w.Header()
		h.Set("ETag", etags[name])
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", csp)
		// ServeContent answers If-None-Match with 304, Range requests, and the content type.
		http.ServeContent(w, r, name, time.Time{}, f.(io.ReadSeeker))
	})
}

// csp allows only what the front ends themselves serve: no CDN, no inline script.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
