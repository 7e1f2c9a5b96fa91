package observation

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzValidateRubricContent(f *testing.F) {
	seed := func(mutate func(c *RubricContent)) {
		c := copyContent(f, DefaultRubric())
		mutate(&c)
		b, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(func(*RubricContent) {})
	seed(func(c *RubricContent) { delete(c.Dimensions[2].Levels[1].Descriptor, "es") })
	seed(func(c *RubricContent) { c.Languages = []string{"es", "en"} })
	seed(func(c *RubricContent) { c.MaxLevel = 10 })
	seed(func(c *RubricContent) { c.Dimensions[0].Levels[0].Level = 9 })
	seed(func(c *RubricContent) { c.TallyCategories[9].Measure = MeasurePress })
	seed(func(c *RubricContent) { c.Participation[0].Options = c.Participation[1].Options })
	seed(func(c *RubricContent) { c.Title["xx"] = "x"; c.NotObserved.Code = "" })
	seed(func(c *RubricContent) {
		c.Dimensions = c.Dimensions[:1]
		c.TallyCategories = nil
		c.Participation = nil
	})
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"languages":["en"],"title":{"en":"t"},"min_level":1,"max_level":2,"proficiency_level":2,` +
		`"dimensions":[{"key":"a","title":{"en":"a"},"levels":[{"level":2,"descriptor":{"en":"x"}},{"level":1,"descriptor":{"en":"y"}}]}],` +
		`"tally_categories":[]}`))
	f.Add([]byte(`{"languages":["en"],"title":{"en":"\ud800"},"min_level":1,"max_level":2,"proficiency_level":1,` +
		`"dimensions":[{"key":"a","title":{"en":"a","EN":"b"},"levels":[{"level":1,"descriptor":{"en":"x"}},{"level":2,"descriptor":{"en":"\u0000"}}]}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var c RubricContent
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		err := ValidateRubricContent(c)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.Kind != KindInvalid || e.Field == "" || e.Reason == "" || e.Message == "" {
				t.Fatalf("malformed error %#v", e)
			}
			if strings.ToUpper(e.Reason) != e.Reason || strings.ContainsAny(e.Reason, " -") {
				t.Fatalf("reason %q is not UPPER_SNAKE", e.Reason)
			}
			if !strings.HasPrefix(e.Field, "content.") {
				t.Fatalf("field %q is not a content path", e.Field)
			}
			if err2 := ValidateRubricContent(c); err2.Error() != err.Error() {
				t.Fatalf("validation not deterministic: %v vs %v", err, err2)
			}
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("valid content does not encode: %v", err)
		}
		var c2 RubricContent
		if err := json.Unmarshal(b, &c2); err != nil {
			t.Fatalf("valid content does not decode: %v", err)
		}
		if h1, h2 := c.Hash(), c2.Hash(); h1 != h2 {
			t.Fatalf("hash changed by a JSON round trip: %s vs %s\n%s", h1, h2, b)
		}
		if err := ValidateRubricContent(c2); err != nil {
			t.Fatalf("round-tripped valid content is invalid: %v", err)
		}
	})
}

func FuzzNormalizeLanguage(f *testing.F) {
	for _, s := range []string{"", "en", "ES", "es-MX", "es-MX,es;q=0.9,en;q=0.8", "fr", "*", "es;q=0", "es;q=NaN", ",,;;==", "es;q=1e-400", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeLanguage(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeLanguage(%q) = %q with error %v", s, got, err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Field != "language" || e.Reason != "UNSUPPORTED_LANGUAGE" {
				t.Fatalf("NormalizeLanguage(%q) error %#v", s, err)
			}
			return
		}
		if !slices.Contains(supportedLanguages, got) {
			t.Fatalf("NormalizeLanguage(%q) = %q, not supported", s, got)
		}
		if again, err := NormalizeLanguage(got); err != nil || again != got {
			t.Fatalf("NormalizeLanguage(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}
