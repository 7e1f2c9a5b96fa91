package progress

import (
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

func TestYearBefore(t *testing.T) {
	s := observation.DefaultDistrictSettings()
	s.Windows = []observation.NamedWindow{{Key: "baseline", Title: "Baseline", StartMonth: 9, StartDay: 1, EndMonth: 10, EndDay: 15}}
	for _, c := range []struct{ kind, key, want string }{
		{"school_year", "2025-26", "2024-25"},
		{"term", "2025-26/T2", "2024-25/T2"},
		{"window", "2025-26/baseline", "2024-25/baseline"},
		{"month", "2026-01", "2025-01"},
		{"week", "2026-W03", "2025-W03"},
		{"week", "2026-W53", "2025-W52"}, // 2026 has 53 ISO weeks, 2025 has 52
		{"day", "2024-02-29", "2023-03-01"},
	} {
		p, err := ParsePeriod(c.kind, c.key, s)
		if err != nil {
			t.Fatalf("%s %s: %v", c.kind, c.key, err)
		}
		got := p.YearBefore(s)
		want, err := ParsePeriod(c.kind, c.want, s)
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != c.want || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
			t.Errorf("%s %s: year before is %v, want %s", c.kind, c.key, got, c.want)
		}
	}
}

func TestComparisonValidate(t *testing.T) {
	for _, c := range []struct {
		c     Comparison
		field string
	}{
		{Comparison{}, ""}, {Comparison{Against: "previous"}, ""}, {Comparison{Against: "last_year"}, ""},
		{Comparison{Against: "period", Key: "2025-10"}, ""},
		{Comparison{Against: "period"}, "compare.key"}, {Comparison{Against: "last_year", Key: "x"}, "compare.key"},
		{Comparison{Against: "never"}, "compare.against"},
	} {
		err := c.c.validate()
		var got string
		if e, ok := err.(*observation.Error); ok {
			got = e.Field
		} else if err != nil {
			t.Fatalf("%+v: %v", c.c, err)
		}
		if got != c.field {
			t.Errorf("%+v: field %q, want %q", c.c, got, c.field)
		}
	}
}
