package observation_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

// TestContentHashVectors: the shared test vectors of the content hash (docs/sync-protocol.md §6)
// give, for each record, the canonical JSON and hash the server computes. The tablet app checks
// its own implementation against the same file (web/test/record.test.mjs), so Go, the app and the
// docs cannot drift apart.
func TestContentHashVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/content-hash-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		Name      string          `json:"name"`
		Record    json.RawMessage `json:"record"`
		Canonical string          `json:"canonical"`
		Hash      string          `json:"hash"`
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 3 {
		t.Fatalf("%d vectors, want at least 3", len(vs))
	}
	for _, v := range vs {
		var r observation.Record
		if err := json.Unmarshal(v.Record, &r); err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		c, h := r.Canonical()
		if string(c) != v.Canonical {
			t.Errorf("%s: canonical JSON\n got %s\nwant %s", v.Name, c, v.Canonical)
		}
		if h != v.Hash || r.Hash() != v.Hash {
			t.Errorf("%s: hash %s, want %s", v.Name, h, v.Hash)
		}
	}
}
