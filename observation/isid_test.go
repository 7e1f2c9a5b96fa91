package observation

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestIsID: isID accepts exactly what idPattern matches.
func TestIsID(t *testing.T) {
	cases := []string{"", "a", "A", "0", ".", "-a", "a-", "a.b_c:d-e", "a\n", "a b", "é", "aé", "a\x00", "a$",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "_a", ":a", "a/b"}
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aZ09._:-/ \né\x00"
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(6))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := isID(c), idPattern.MatchString(c); got != want {
			t.Fatalf("isID(%q) = %v, idPattern says %v", c, got, want)
		}
	}
}
