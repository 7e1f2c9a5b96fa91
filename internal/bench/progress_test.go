package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/progress"
)

// TestRunProgress runs the progress figures at a tiny size against the real PostgreSQL: the
// run must finish, its cross-check (the view equals the GROUP BY over raw observations at both
// sizes) must pass, and every figure must be there. It asserts no time and no ratio.
func TestRunProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 20,000 observations")
	}
	cfg := Config{AdminURL: pgtest.AdminURL(), Progress: ProgressConfig{Small: 2000, Large: 20000, Sites: 4, Classrooms: 6,
		Seed: 5, Warmup: 1, Runs: 5, BaselineRuns: 2}}
	var log strings.Builder
	res, err := RunProgress(context.Background(), cfg, &log)
	t.Logf("progress log:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stages) != 2 {
		t.Fatalf("%d stages, want 2", len(res.Stages))
	}
	if res.Period == "" || res.Previous == "" || res.Period == res.Previous {
		t.Errorf("periods %q and %q, want two school years", res.Previous, res.Period)
	}
	if res.Dimensions < 1 {
		t.Errorf("%d dimensions in the view", res.Dimensions)
	}
	for i, want := range []int64{2000, 20000} {
		s := res.Stages[i]
		if s.Observations != want {
			t.Errorf("stage %d: %d observations in the district, want %d", i, s.Observations, want)
		}
		if s.Loaded != want-[]int64{0, 2000}[i] {
			t.Errorf("stage %d: %d loaded", i, s.Loaded)
		}
		if s.CellRows < 1 {
			t.Errorf("stage %d: %d progress cell rows", i, s.CellRows)
		}
		if s.ViewP50 <= 0 || s.ViewP99 < s.ViewP50 || s.BaselineP50 <= 0 || s.Load <= 0 {
			t.Errorf("stage %d: figures missing: %+v", i, s)
		}
		// Every site has a cell per dimension; a tiny district may withhold a few of them.
		if s.Checked < 1 || s.Checked+s.Suppressed != cfg.Progress.Sites*res.Dimensions {
			t.Errorf("stage %d: %d cells cross-checked and %d withheld, want %d in all", i, s.Checked, s.Suppressed,
				cfg.Progress.Sites*res.Dimensions)
		}
	}
	table := res.Table(cfg.Progress)
	for _, want := range []string{"| district progress", "(target ≤ 1.2)", "(target ≥ 20)", "| cross-check"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestProgressConfigValidate(t *testing.T) {
	good := defaultProgressConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*ProgressConfig){
		func(c *ProgressConfig) { c.Large = c.Small },
		func(c *ProgressConfig) { c.Small = 0 },
		func(c *ProgressConfig) { c.Runs = 0 },
		func(c *ProgressConfig) { c.Sites = 0 },
	} {
		c := good
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestCrossCheck shows the cross-check is not vacuous: a GROUP BY that differs from the view in
// any compared figure, or has a cell the view lacks, fails it.
func TestCrossCheck(t *testing.T) {
	dim := func(name string, n int, mean, share float64, teachers int) progress.DimensionSummary {
		return progress.DimensionSummary{Dimension: name, N: n, Teachers: teachers,
			Mean: progress.Cell{N: n, Value: mean}, ShareProficient: progress.Cell{N: n, Value: share},
			Change: progress.Change{Status: progress.ChangeCompared, Mean: mean - 2}}
	}
	view := progress.DistrictProgress{
		Sites: []progress.SiteRow{
			{SiteID: "a", Dimensions: []progress.DimensionSummary{dim("press", 4, 2.5, 0.5, 3)}},
			{SiteID: "b", Dimensions: []progress.DimensionSummary{dim("press", 6, 3, 1, 4)}},
		},
		Total: progress.SiteRow{Dimensions: []progress.DimensionSummary{dim("press", 10, 2.8, 0.8, 7)}},
	}
	base := func() map[baseKey]baseRow {
		return map[baseKey]baseRow{
			{true, "a", "press"}:  {n: 4, mean: 2.5, share: 0.5, teachers: 3},
			{true, "b", "press"}:  {n: 6, mean: 3, share: 1, teachers: 4},
			{false, "a", "press"}: {n: 2, mean: 2, share: 0, teachers: 1},
			{false, "b", "press"}: {n: 2, mean: 2, share: 0, teachers: 1},
		}
	}
	if checked, suppressed, err := crossCheck(view, base()); err != nil || checked != 2 || suppressed != 0 {
		t.Fatalf("equal figures: %d checked, %d withheld, %v", checked, suppressed, err)
	}
	for name, change := range map[string]func(m map[baseKey]baseRow){
		"n": func(m map[baseKey]baseRow) {
			r := m[baseKey{true, "a", "press"}]
			r.n++
			m[baseKey{true, "a", "press"}] = r
		},
		"mean": func(m map[baseKey]baseRow) {
			r := m[baseKey{true, "b", "press"}]
			r.mean += 1e-6
			m[baseKey{true, "b", "press"}] = r
		},
		"share": func(m map[baseKey]baseRow) {
			r := m[baseKey{true, "b", "press"}]
			r.share = 0.9
			m[baseKey{true, "b", "press"}] = r
		},
		"teachers": func(m map[baseKey]baseRow) {
			r := m[baseKey{true, "a", "press"}]
			r.teachers = 2
			m[baseKey{true, "a", "press"}] = r
		},
		"previous": func(m map[baseKey]baseRow) {
			r := m[baseKey{false, "a", "press"}]
			r.mean = 2.1
			m[baseKey{false, "a", "press"}] = r
		},
		"extra":   func(m map[baseKey]baseRow) { m[baseKey{true, "c", "press"}] = baseRow{n: 1, mean: 1, teachers: 1} },
		"missing": func(m map[baseKey]baseRow) { delete(m, baseKey{true, "b", "press"}) },
	} {
		m := base()
		change(m)
		if _, _, err := crossCheck(view, m); err == nil {
			t.Errorf("%s: a GROUP BY that differs passed the cross-check", name)
		}
	}
}
