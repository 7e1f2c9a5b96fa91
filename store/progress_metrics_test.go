package store_test

import (
	"encoding/json"
	"testing"

	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/store"
)

// FuzzDecodeMetrics: the counters' own parser reads whatever encoding/json reads as a flat
// object of integers to the same counters, and refuses what encoding/json refuses.
func FuzzDecodeMetrics(f *testing.F) {
	for _, s := range []string{`{}`, `{"n": 1}`, `{"n": 1, "d|talk|1|3": 2, "e|s|ell": -1500}`, ` { "a" : -0 , "b":9223372036854775807 } `,
		`{"a\"b": 1}`, `{"é|x": 3}`, `{"n": 1.5}`, `{"n": 1e3}`, `{"n": 1,}`, `{"n" 1}`, `[1]`, `{"n": 1} x`, `{"a": 1, "a": 2}`, `{"a": 1, "b": 0, "a": 0}`, `{"n": 99999999999999999999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want map[string]int64
		werr := json.Unmarshal(b, &want)
		got, err := store.DecodeMetrics(b)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: error %v, encoding/json: %v", b, err, werr)
		}
		if err == nil && !got.Equal(progress.MetricsOf(want)) {
			t.Fatalf("%q: %v, encoding/json: %v", b, got, want)
		}
	})
}
