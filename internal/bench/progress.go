package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/seedgen"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
)

// The progress figures: the latency of the district progress view (docs/performance.md), read from the
// aggregate rows the store maintains, at two sizes of one district, next to the same view
// computed by a plain GROUP BY over the raw observations in the same run.

// ProgressConfig sizes the progress figures (Config.Progress).
type ProgressConfig struct {
	Small, Large int   // observations in the district at the two measurements (100,000 and 1,000,000)
	Sites        int   // sites of the generated district (30)
	Classrooms   int   // classrooms per site (25)
	Seed         int64 // of the generated roster and observations
	Warmup       int   // untimed view calls at each size before the timed ones (5)
	Runs         int   // timed view calls per size (50)
	BaselineRuns int   // timed GROUP BY runs at each size (3)
}

// defaultProgressConfig is what `make bench` runs.
func defaultProgressConfig() ProgressConfig {
	return ProgressConfig{Small: 100_000, Large: 1_000_000, Sites: 30, Classrooms: 25, Seed: 11,
		Warmup: 5, Runs: 50, BaselineRuns: 3}
}

// Validate reports the first setting out of range.
func (c ProgressConfig) Validate() error {
	switch {
	case c.Small < 1 || c.Large <= c.Small:
		return fmt.Errorf("bench: progress sizes must be 0 < small < large, got %d and %d", c.Small, c.Large)
	case c.Runs < 1 || c.BaselineRuns < 1 || c.Warmup < 0:
		return fmt.Errorf("bench: progress runs must be at least 1 (warm-up at least 0)")
	}
	return demo.ScaleConfig{Districts: 1, SitesPerDistrict: c.Sites, ClassroomsPerSite: c.Classrooms}.Validate()
}

// ProgressStage is the figures at one size of the district.
type ProgressStage struct {
	Observations int64         // observations stored in the district
	Loaded       int64         // observations loaded for this stage
	Load         time.Duration // loading them through store.CopyObservations (aggregates maintained)
	Analyze      time.Duration // VACUUM (ANALYZE) after the load, before measuring
	CellRows     int64         // progress_cells rows of the district, every period kind
	ViewP50      time.Duration // one service for every call: the site rows it read before are reused
	ViewP99      time.Duration
	ColdP50      time.Duration // a new service for every call: every row read and summed whole
	ColdP99      time.Duration
	TrendsP50    time.Duration // site trends of one site over 12 months (SiteTrends)
	TrendsP99    time.Duration
	BaselineP50  time.Duration
	BaselineMax  time.Duration
	Checked      int // site × dimension cells whose n, mean, share and teachers matched the GROUP BY
	Suppressed   int // site × dimension cells the view withheld (not compared)
}

// ProgressResult holds the progress figures.
type ProgressResult struct {
	DistrictID        string
	Sites, Classrooms int
	Dimensions        int    // dimensions in the view
	Period, Previous  string // school-year keys
	Stages            []ProgressStage
	PostgresVersion   string
}

// RunProgress measures the district progress view at two sizes of one district. On a scratch
// database on c.AdminURL it loads c.Progress.Small observations of one generated district over
// two school years, copies the database as it is then (CREATE DATABASE … TEMPLATE), and loads
// the same district up to c.Progress.Large. It then times the view of the later school year on
// the copy and on the grown database alternately, call by call, and the same figures computed
// by a plain GROUP BY over the raw observations, run by run, so that both sizes see the same
// machine. Every measurement is cross-checked: the view's figures per site and dimension must
// equal the GROUP BY's, else RunProgress fails.
func RunProgress(ctx context.Context, c Config, log io.Writer) (ProgressResult, error) {
	var res ProgressResult
	cfg := c.Progress
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	sc, err := newScratch(ctx, c.AdminURL)
	if err != nil {
		return res, err
	}
	defer sc.close()
	large, largeURL, err := sc.create(ctx, "")
	if err != nil {
		return res, err
	}
	st, version, err := openMigrated(ctx, largeURL, 4)
	if err != nil {
		return res, err
	}
	defer func() { st.Close() }()
	res.PostgresVersion = version

	net, err := demo.Scale(demo.ScaleConfig{Districts: 1, SitesPerDistrict: cfg.Sites, ClassroomsPerSite: cfg.Classrooms, Seed: cfg.Seed})
	if err != nil {
		return res, err
	}
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		return res, err
	}
	if err := st.UpsertRoster(ctx, store.Roster{Districts: net.Districts, Sites: net.Sites, Classrooms: net.Classrooms, Staff: net.Staff, NetworkStaff: net.NetworkStaff}); err != nil {
		return res, err
	}
	rv, err := st.GetRubricVersion(ctx, observation.DefaultRubricID, 1)
	if err != nil {
		return res, err
	}
	district := net.Districts[0]
	res.DistrictID, res.Sites, res.Classrooms = district.ID, cfg.Sites, cfg.Classrooms
	admin := observation.Principal{Role: observation.RoleDistrictAdmin, DistrictID: district.ID}
	for _, s := range net.Staff {
		if s.Role == roster.StaffDistrictAdmin {
			admin.UserID = s.ID
		}
	}

	// Two school years: the current one (or the last one, when the current one is less than a
	// month old) and the one before it, with observations in proportion to their school days.
	now := time.Now().UTC()
	cur, ok := progress.PeriodOf(progress.PeriodSchoolYear, now.AddDate(0, 0, -1), district.Settings)
	if !ok {
		return res, fmt.Errorf("bench: no school year for %s", now.Format(time.DateOnly))
	}
	if now.Sub(cur.Start) < 30*24*time.Hour {
		cur = cur.Previous(district.Settings)
	}
	prev := cur.Previous(district.Settings)
	res.Period, res.Previous = cur.Key, prev.Key
	shares, plans, err := yearPlans(net, rv, cfg, now, prev.Start, cur.Start)
	if err != nil {
		return res, err
	}

	// Load the small size, keep a copy of it, then load up to the large size.
	loaded := make([]int, len(plans))
	res.Stages = make([]ProgressStage, 2)
	var smallURL string
	for stage, size := range []int{cfg.Small, cfg.Large} {
		ps := &res.Stages[stage]
		t0 := time.Now()
		for i, p := range plans {
			to := shares[i](size)
			sum, err := p.Load(ctx, st, seedgen.LoadOptions{From: loaded[i], To: to, Progress: log,
				Label: fmt.Sprintf("bench: progress: loading %s", []string{prev.Key, cur.Key}[i])})
			if err != nil {
				return res, err
			}
			ps.Loaded += sum.Written
			loaded[i] = to
		}
		ps.Load = time.Since(t0)
		t0 = time.Now()
		if _, err := st.Pool().Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
			return res, err
		}
		ps.Analyze = time.Since(t0)
		if err := st.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM observations WHERE district_id = $1),
			(SELECT count(*) FROM progress_cells WHERE district_id = $1)`, district.ID).Scan(&ps.Observations, &ps.CellRows); err != nil {
			return res, err
		}
		fmt.Fprintf(log, "bench: progress: %d observations in the district (%d loaded in %s, %.0f/s; VACUUM ANALYZE %s), %d cell rows\n",
			ps.Observations, ps.Loaded, ps.Load.Round(time.Millisecond), float64(ps.Loaded)/ps.Load.Seconds(),
			ps.Analyze.Round(time.Millisecond), ps.CellRows)
		if stage == 0 { // the copy: the template may have no connection open
			st.Close()
			t0 = time.Now()
			if _, smallURL, err = sc.create(ctx, large); err != nil {
				return res, fmt.Errorf("bench: copying the database at %d observations: %w", ps.Observations, err)
			}
			fmt.Fprintf(log, "bench: progress: copied the database at %d observations in %s\n", ps.Observations, time.Since(t0).Round(time.Millisecond))
			if st, err = store.Open(ctx, largeURL, store.Options{MaxConns: 4}); err != nil {
				return res, err
			}
		}
	}
	small, err := store.Open(ctx, smallURL, store.Options{MaxConns: 4})
	if err != nil {
		return res, err
	}
	defer small.Close()

	// Measure both sizes alternately: the view call by call, then the GROUP BY run by run.
	q := progress.ViewQuery{DistrictID: district.ID, PeriodKind: string(progress.PeriodSchoolYear), PeriodKey: cur.Key}
	type side struct {
		pr    *progress.Service
		base  baselineQuery
		view  progress.DistrictProgress
		rows  map[baseKey]baseRow
		lat   []time.Duration
		clat  []time.Duration
		tlat  []time.Duration
		blat  []time.Duration
		stage *ProgressStage
	}
	sides := []*side{{stage: &res.Stages[0]}, {stage: &res.Stages[1]}}
	// The view compares a school year in progress with the same elapsed days of the one before;
	// the GROUP BY reads the same days.
	viewNow := time.Now().UTC()
	ecur, eprev := progress.Elapsed(cur, prev, viewNow)
	for i, s := range []*store.Store{small, st} {
		sides[i].pr = &progress.Service{Store: s, Now: func() time.Time { return viewNow }}
		sides[i].base = baselineQuery{st: s, district: district.ID, rubric: rv.RubricID, cur: ecur, prev: eprev,
			proficient: progress.ProficiencyLevelFor(district.Settings, rv.Content)}
	}
	fmt.Fprintf(log, "bench: progress: district progress at %d and %d observations, %d calls each, alternately\n",
		res.Stages[0].Observations, res.Stages[1].Observations, cfg.Runs)
	// Site trends: the first site, the 12 months up to this one.
	tq := progress.ViewQuery{DistrictID: district.ID, SiteID: net.Sites[0].ID, PeriodKind: string(progress.PeriodMonth), Periods: 12}
	for run := -cfg.Warmup; run < cfg.Runs; run++ {
		for _, s := range sides {
			t := time.Now()
			if s.view, err = s.pr.DistrictProgress(ctx, admin, q); err != nil {
				return res, fmt.Errorf("district progress: %w", err)
			}
			t1 := time.Now()
			if _, err = s.pr.SiteTrends(ctx, admin, tq); err != nil {
				return res, fmt.Errorf("site trends: %w", err)
			}
			t2 := time.Now()
			cold, err := (&progress.Service{Store: s.pr.Store, Now: s.pr.Now}).DistrictProgress(ctx, admin, q)
			if err != nil {
				return res, fmt.Errorf("district progress: %w", err)
			}
			if run >= 0 {
				s.lat, s.tlat, s.clat = append(s.lat, t1.Sub(t)), append(s.tlat, t2.Sub(t1)), append(s.clat, time.Since(t2))
			}
			if !reflect.DeepEqual(cold, s.view) {
				return res, fmt.Errorf("bench: the district view with reused site rows differs from the one read whole:\n%+v\n%+v", s.view, cold)
			}
		}
	}
	fmt.Fprintf(log, "bench: progress: GROUP BY at %d and %d observations, %d runs each, alternately\n",
		res.Stages[0].Observations, res.Stages[1].Observations, cfg.BaselineRuns)
	for range cfg.BaselineRuns {
		for _, s := range sides {
			t := time.Now()
			if s.rows, err = s.base.run(ctx); err != nil {
				return res, fmt.Errorf("baseline: %w", err)
			}
			s.blat = append(s.blat, time.Since(t))
		}
	}
	for _, s := range sides {
		ps := s.stage
		ps.ViewP50, ps.ViewP99 = percentile(s.lat, 50), percentile(s.lat, 99)
		ps.ColdP50, ps.ColdP99 = percentile(s.clat, 50), percentile(s.clat, 99)
		ps.TrendsP50, ps.TrendsP99 = percentile(s.tlat, 50), percentile(s.tlat, 99)
		ps.BaselineP50, ps.BaselineMax = percentile(s.blat, 50), slices.Max(s.blat)
		if ps.Checked, ps.Suppressed, err = crossCheck(s.view, s.rows); err != nil {
			return res, fmt.Errorf("bench: at %d observations the view is not the GROUP BY: %w", ps.Observations, err)
		}
		res.Dimensions = len(s.view.Total.Dimensions)
		fmt.Fprintf(log, "bench: progress: at %d observations: view p50 %s (p99 %s), GROUP BY p50 %s (max %s); %d site × dimension cells cross-checked, %d withheld\n",
			ps.Observations, dur(ps.ViewP50), dur(ps.ViewP99), dur(ps.BaselineP50), dur(ps.BaselineMax), ps.Checked, ps.Suppressed)
	}
	return res, nil
}

// yearPlans returns one plan per school year (the previous, then the current) and, for each,
// how many of a district total of n observations fall in that year: in proportion to the
// year's school days, in whole calibration blocks.
func yearPlans(net demo.Roster, rv observation.RubricVersion, cfg ProgressConfig, now time.Time, starts ...time.Time) ([]func(n int) int, []*seedgen.Plan, error) {
	days := make([]int, len(starts))
	total := 0
	for i, s := range starts {
		p, err := seedgen.New(net, rv, cfg.Seed+int64(i), 1, s, now)
		if err != nil {
			return nil, nil, err
		}
		days[i] = p.SchoolDays()
		total += days[i]
	}
	shares := make([]func(int) int, len(starts))
	for i := range starts {
		shares[i] = func(n int) int {
			if i == len(starts)-1 { // the last year takes the rest
				sum := 0
				for j := 0; j < i; j++ {
					sum += shares[j](n)
				}
				return n - sum
			}
			k := n * days[i] / total
			return k - k%seedgen.CalibrationEvery
		}
	}
	plans := make([]*seedgen.Plan, len(starts))
	for i, s := range starts {
		p, err := seedgen.New(net, rv, cfg.Seed+int64(i), shares[i](cfg.Large), s, now)
		if err != nil {
			return nil, nil, err
		}
		plans[i] = p
	}
	return shares, plans, nil
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// baselineQuery computes the district progress figures per site and dimension with a plain
// GROUP BY over the raw observations: submitted, not deleted, of the district and rubric, in the
// days the view covers of the current and the previous period.
type baselineQuery struct {
	st         *store.Store
	district   string
	rubric     string
	cur, prev  progress.Period
	proficient int
}

type baseKey struct {
	current         bool
	site, dimension string
}

type baseRow struct {
	n, teachers int
	mean, share float64
}

const baselineSQL = `SELECT o.started_at >= $3 AS current, o.site_id, s->>'dimension' AS dimension,
	count(*) AS n, avg((s->>'level')::int)::float8 AS mean,
	avg(CASE WHEN (s->>'level')::int >= $6 THEN 1 ELSE 0 END)::float8 AS share,
	count(DISTINCT o.teacher_id) AS teachers
FROM observations o CROSS JOIN LATERAL jsonb_array_elements(o.content::jsonb->'scores') AS s
WHERE o.district_id = $1 AND o.rubric_id = $2 AND o.status = 'submitted' AND NOT o.deleted
	AND (o.started_at >= $3 AND o.started_at < $5 OR o.started_at >= $4 AND o.started_at < $7)
	AND s ? 'level' AND NOT coalesce((s->>'not_observed')::boolean, false)
	-- a co-observed lesson counts once: by the counted record of its group submitted first
	AND (o.co_observation IS NULL OR NOT EXISTS (SELECT 1 FROM observations f
		WHERE f.district_id = o.district_id AND f.co_observation = o.co_observation AND f.status = 'submitted' AND NOT f.deleted
		  AND (coalesce(f.submitted_at, '-infinity'), f.observation_id::text) < (coalesce(o.submitted_at, '-infinity'), o.observation_id::text)))
GROUP BY 1, 2, 3`

func (b baselineQuery) run(ctx context.Context) (map[baseKey]baseRow, error) {
	// Each period's days: up to today for one in progress, the same elapsed days for the one
	// before it (see progress.Elapsed).
	curEnd, prevEnd := b.cur.LastDay().AddDate(0, 0, 1), b.prev.LastDay().AddDate(0, 0, 1)
	rows, err := b.st.Pool().Query(ctx, baselineSQL, b.district, b.rubric, b.cur.Start, b.prev.Start, curEnd, b.proficient, prevEnd)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[baseKey]baseRow{}
	for rows.Next() {
		var k baseKey
		var r baseRow
		if err := rows.Scan(&k.current, &k.site, &k.dimension, &r.n, &r.mean, &r.share, &r.teachers); err != nil {
			return nil, err
		}
		out[k] = r
	}
	return out, rows.Err()
}

// crossCheck compares the view with the GROUP BY: for every site and dimension of the current
// period, n, mean, share proficient and distinct teachers; the change of a compared dimension
// against the previous period's mean; and the total row's n and mean against the sum of the
// sites. A cell the view withholds is counted, not compared; every other cell must match.
func crossCheck(v progress.DistrictProgress, base map[baseKey]baseRow) (checked, suppressed int, err error) {
	const eps = 1e-9
	var errs []string
	bad := func(format string, args ...any) {
		if len(errs) < 10 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	seen := map[baseKey]bool{}
	type tot struct{ n, sum float64 }
	totals := map[string]*tot{}
	for _, site := range v.Sites {
		for _, d := range site.Dimensions {
			k := baseKey{true, site.SiteID, d.Dimension}
			b, ok := base[k]
			seen[k] = true
			if ok {
				if totals[d.Dimension] == nil {
					totals[d.Dimension] = &tot{}
				}
				totals[d.Dimension].n += float64(b.n)
				totals[d.Dimension].sum += b.mean * float64(b.n)
			}
			switch {
			case d.Suppressed():
				suppressed++
				if !ok {
					bad("%s %s: withheld by the view, no scores in the GROUP BY", site.SiteID, d.Dimension)
				}
				continue
			case d.Mean.NoData:
				if ok {
					bad("%s %s: no data in the view, n %d in the GROUP BY", site.SiteID, d.Dimension, b.n)
				}
				continue
			case !ok:
				bad("%s %s: n %d in the view, nothing in the GROUP BY", site.SiteID, d.Dimension, d.N)
				continue
			}
			if d.N != b.n || math.Abs(d.Mean.Value-b.mean) > eps || math.Abs(d.ShareProficient.Value-b.share) > eps || d.Teachers != b.teachers {
				bad("%s %s: view n %d mean %.12f share %.12f teachers %d; GROUP BY n %d mean %.12f share %.12f teachers %d",
					site.SiteID, d.Dimension, d.N, d.Mean.Value, d.ShareProficient.Value, d.Teachers, b.n, b.mean, b.share, b.teachers)
				continue
			}
			if d.Change.Status == progress.ChangeCompared {
				p, ok := base[baseKey{false, site.SiteID, d.Dimension}]
				if !ok || math.Abs(d.Change.Mean-(b.mean-p.mean)) > eps {
					bad("%s %s: change of the mean %.12f in the view, %.12f by the GROUP BY", site.SiteID, d.Dimension, d.Change.Mean, b.mean-p.mean)
					continue
				}
			}
			checked++
		}
	}
	for k, b := range base {
		if k.current && !seen[k] {
			bad("%s %s: n %d in the GROUP BY, missing from the view", k.site, k.dimension, b.n)
		}
	}
	for _, d := range v.Total.Dimensions {
		t := totals[d.Dimension]
		if d.Suppressed() || t == nil {
			continue
		}
		if float64(d.N) != t.n || math.Abs(d.Mean.Value-t.sum/t.n) > eps {
			bad("total %s: view n %d mean %.12f; sites' GROUP BY n %.0f mean %.12f", d.Dimension, d.N, d.Mean.Value, t.n, t.sum/t.n)
		}
	}
	if len(errs) == 0 && checked == 0 {
		bad("no site × dimension cell to compare (%d withheld)", suppressed)
	}
	if len(errs) > 0 {
		return checked, suppressed, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return checked, suppressed, nil
}

// Table renders the progress figures as a Markdown table.
func (r ProgressResult) Table(cfg ProgressConfig) string {
	if len(r.Stages) != 2 {
		return ""
	}
	s, l := r.Stages[0], r.Stages[1]
	var b strings.Builder
	fmt.Fprintf(&b, `| measure | value |
|---|---|
| load through CopyObservations, aggregates maintained: %d, then %d more observations | %.0f observations/s, then %.0f observations/s |
| district progress (school year %s vs %s, %d sites × %d dimensions, district admin), p50 (p99) over %d calls at each size, the sizes alternating; at %d observations | %s (%s) |
| the same at %d observations | %s (%s) |
| p50 at %d ÷ p50 at %d observations (target ≤ 1.2) | %.2f |
| the same view from a new service each call (every site row read and summed whole: a first read), p50 (p99); at %d observations | %s (%s) |
| the same at %d observations | %s (%s) |
| site trends (one site, 12 months, district admin), p50 (p99), same calls; at %d observations | %s (%s) |
| the same at %d observations | %s (%s) |
| plain GROUP BY over raw observations (same figures per site and dimension, both years), p50 over %d runs at each size, alternating; at %d observations | %s |
| the same at %d observations | %s |
| GROUP BY ÷ view, p50 at %d observations (target ≥ 20) | %.1f |
| GROUP BY ÷ view, p50 at %d observations | %.1f |
| cross-check: the view's n, mean, share proficient and teachers equal the GROUP BY's | %d and %d site × dimension cells, all equal (%d and %d withheld) |
`, s.Loaded, l.Loaded, float64(s.Loaded)/s.Load.Seconds(), float64(l.Loaded)/l.Load.Seconds(),
		r.Period, r.Previous, r.Sites, r.Dimensions, cfg.Runs, s.Observations, dur(s.ViewP50), dur(s.ViewP99),
		l.Observations, dur(l.ViewP50), dur(l.ViewP99),
		l.Observations, s.Observations, l.ViewP50.Seconds()/s.ViewP50.Seconds(),
		s.Observations, dur(s.ColdP50), dur(s.ColdP99), l.Observations, dur(l.ColdP50), dur(l.ColdP99),
		s.Observations, dur(s.TrendsP50), dur(s.TrendsP99), l.Observations, dur(l.TrendsP50), dur(l.TrendsP99),
		cfg.BaselineRuns, s.Observations, dur(s.BaselineP50),
		l.Observations, dur(l.BaselineP50),
		l.Observations, l.BaselineP50.Seconds()/l.ViewP50.Seconds(),
		s.Observations, s.BaselineP50.Seconds()/s.ViewP50.Seconds(),
		s.Checked, l.Checked, s.Suppressed, l.Suppressed)
	return b.String()
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
