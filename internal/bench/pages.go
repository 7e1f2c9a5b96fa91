package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/seedgen"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/store"
)

// The page figures: the server time of the pages' first render — the round of REST calls the
// site page (as the site's principal) and the district page (as the district admin) make at once
// through the gateway, timed from the first request to the last response — next to each of
// those calls made alone, in the same run, on one generated district.

// PagesConfig sizes the page figures.
type PagesConfig struct {
	Observations int   // observations in the district (1,000,000); 0: no page figures
	Sites        int   // sites of the generated district (30)
	Classrooms   int   // classrooms per site (25)
	Seed         int64 // of the generated roster and observations
	Warmup       int   // untimed rounds before the timed ones (3)
	Runs         int   // timed rounds (30)
}

// DefaultPagesConfig is what `lookfor bench --pages` runs.
func DefaultPagesConfig() PagesConfig {
	return PagesConfig{Observations: 1_000_000, Sites: 30, Classrooms: 25, Seed: 13, Warmup: 3, Runs: 30}
}

// PagesRow is one timed page round or API call.
type PagesRow struct {
	Name     string
	Calls    int // calls in the round (1 for a single call)
	P50, P99 time.Duration
}

// PagesResult holds the page figures.
type PagesResult struct {
	Observations    int64
	Load            time.Duration
	Sites           int
	Classrooms      int
	Rows            []PagesRow
	PostgresVersion string
}

// pageCall is one REST call of a page's first render.
type pageCall struct{ name, path string }

// sitePageCalls and districtPageCalls are the calls web/src/pages makes for its first render
// (site.js siteCalls, district.js districtCalls) with the default period (the school year), in
// English.
func sitePageCalls(d, s string) []pageCall {
	v := "/v1/districts/" + url.PathEscape(d)
	q := url.QueryEscape(s)
	return []pageCall{
		{"site trends", v + "/sites/" + url.PathEscape(s) + "/progress:trends?periods=6&language=en"},
		{"site coverage", v + "/progress:coverage?site_id=" + q},
		{"site talk", v + "/progress:talk?site_id=" + q},
		{"site calibration", v + "/progress:calibration?site_id=" + q + "&language=en"},
		{"goals", v + "/goals"},
		{"rubric", "/v1/rubrics/" + observation.DefaultRubricID + "/versions/latest?language=en"},
		{"settings", v + "/settings"},
	}
}

func districtPageCalls(d string) []pageCall {
	v := "/v1/districts/" + url.PathEscape(d)
	return []pageCall{
		{"district progress", v + "/progress?language=en"},
		{"district coverage", v + "/progress:coverage"},
		{"district calibration", v + "/progress:calibration?language=en"},
		{"goals", v + "/goals"},
		{"settings", v + "/settings"},
	}
}

// RunPages loads cfg.Observations into one generated district over two school years, starts a
// server as `lookfor serve` runs it, and times the site and district pages' rounds of calls and
// each call alone, interleaved run by run.
func RunPages(ctx context.Context, adminURL string, cfg PagesConfig, log io.Writer) (PagesResult, error) {
	res := PagesResult{Sites: cfg.Sites, Classrooms: cfg.Classrooms}
	if cfg.Observations < 1 || cfg.Runs < 1 || cfg.Warmup < 0 {
		return res, fmt.Errorf("bench: pages: observations and runs must be at least 1")
	}
	net, err := demo.Scale(demo.ScaleConfig{Districts: 1, SitesPerDistrict: cfg.Sites, ClassroomsPerSite: cfg.Classrooms, Seed: cfg.Seed})
	if err != nil {
		return res, err
	}
	st, version, drop, err := scratchStore(ctx, adminURL, 16)
	if err != nil {
		return res, err
	}
	defer drop()
	res.PostgresVersion = version
	if err := loadDistrict(ctx, st, net, cfg, log, &res); err != nil {
		return res, err
	}
	base, key, stop, err := startServer(ctx, st)
	if err != nil {
		return res, err
	}
	defer stop()

	district := net.Districts[0]
	var principal, admin observation.Principal
	for _, s := range net.Staff {
		switch {
		case s.Role == roster.StaffPrincipal && principal.UserID == "":
			principal = observation.Principal{UserID: s.ID, Role: observation.RolePrincipal, DistrictID: s.DistrictID, SiteIDs: s.SiteIDs}
		case s.Role == roster.StaffDistrictAdmin:
			admin = observation.Principal{UserID: s.ID, Role: observation.RoleDistrictAdmin, DistrictID: s.DistrictID}
		}
	}
	if principal.UserID == "" || admin.UserID == "" || len(principal.SiteIDs) == 0 {
		return res, fmt.Errorf("bench: pages: the generated district has no principal or district admin")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: time.Minute}
	type page struct {
		name  string
		token string
		calls []pageCall
	}
	var pages []page
	for _, p := range []struct {
		name  string
		who   observation.Principal
		calls []pageCall
	}{{"site page (principal)", principal, sitePageCalls(district.ID, principal.SiteIDs[0])}, {"district page (district admin)", admin, districtPageCalls(district.ID)}} {
		tok, err := key.Mint(p.who, benchIssuer, "lookfor", time.Hour)
		if err != nil {
			return res, err
		}
		pages = append(pages, page{p.name, tok, p.calls})
	}

	// Per run: each page's round (all its calls at once), then each call alone.
	rounds := make([][]time.Duration, len(pages))
	alone := make([][][]time.Duration, len(pages))
	for i := range pages {
		alone[i] = make([][]time.Duration, len(pages[i].calls))
	}
	// The baseline: the district progress view computed in this process (progress.Service on the
	// same store, no gateway, no JSON), as the progress figures of `lookfor bench` time it.
	pr := &progress.Service{Store: st, Now: time.Now}
	var inProcess []time.Duration
	fmt.Fprintf(log, "bench: pages: %d warm-up and %d timed runs against %s\n", cfg.Warmup, cfg.Runs, base)
	for run := range cfg.Warmup + cfg.Runs {
		for i, p := range pages {
			t0 := time.Now()
			if err := parallel(len(p.calls), func(k int) error { return get(ctx, client, base+p.calls[k].path, p.token) }); err != nil {
				return res, err
			}
			d := time.Since(t0)
			for k, c := range p.calls {
				t1 := time.Now()
				if err := get(ctx, client, base+c.path, p.token); err != nil {
					return res, err
				}
				if run >= cfg.Warmup {
					alone[i][k] = append(alone[i][k], time.Since(t1))
				}
			}
			if run >= cfg.Warmup {
				rounds[i] = append(rounds[i], d)
			}
		}
		t0 := time.Now()
		if _, err := pr.DistrictProgress(ctx, admin, progress.ViewQuery{DistrictID: district.ID}); err != nil {
			return res, err
		}
		if run >= cfg.Warmup {
			inProcess = append(inProcess, time.Since(t0))
		}
	}
	for i, p := range pages {
		res.Rows = append(res.Rows, PagesRow{Name: p.name + ": first render, all calls at once", Calls: len(p.calls),
			P50: percentile(rounds[i], 50), P99: percentile(rounds[i], 99)})
		for k, c := range p.calls {
			res.Rows = append(res.Rows, PagesRow{Name: "  " + c.name + " alone", Calls: 1,
				P50: percentile(alone[i][k], 50), P99: percentile(alone[i][k], 99)})
		}
	}
	res.Rows = append(res.Rows, PagesRow{Name: "baseline: district progress view in process (progress.Service, no gateway)", Calls: 1,
		P50: percentile(inProcess, 50), P99: percentile(inProcess, 99)})
	return res, nil
}

// loadDistrict loads the district's roster and cfg.Observations over the previous and the
// current school year (in proportion to their school days), then VACUUM (ANALYZE).
func loadDistrict(ctx context.Context, st *store.Store, net demo.Roster, cfg PagesConfig, log io.Writer, res *PagesResult) error {
	var err error
	res.Observations, res.Load, err = loadRoster(ctx, st, net, cfg.Seed, cfg.Observations, "bench: pages", log)
	return err
}

// loadRoster stores a generated roster and n observations of it over the previous and the current
// school year (in proportion to their school days) through CopyObservations, then runs VACUUM
// ANALYZE; it returns the observations written and the time the load took.
func loadRoster(ctx context.Context, st *store.Store, net demo.Roster, seed int64, n int, label string, log io.Writer) (int64, time.Duration, error) {
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		return 0, 0, err
	}
	if err := st.UpsertRoster(ctx, store.Roster{Districts: net.Districts, Sites: net.Sites, Classrooms: net.Classrooms, Staff: net.Staff, NetworkStaff: net.NetworkStaff}); err != nil {
		return 0, 0, err
	}
	rv, err := st.GetRubricVersion(ctx, observation.DefaultRubricID, 1)
	if err != nil {
		return 0, 0, err
	}
	now := time.Now().UTC()
	settings := net.Districts[0].Settings
	cur, ok := progress.PeriodOf(progress.PeriodSchoolYear, now.AddDate(0, 0, -1), settings)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no school year for %s", label, now.Format(time.DateOnly))
	}
	starts := []time.Time{cur.Previous(settings).Start}
	if now.Sub(cur.Start) > 7*24*time.Hour { // a school year a week old has school days to load
		starts = append(starts, cur.Start)
	}
	shares, plans, err := yearPlans(net, rv, ProgressConfig{Seed: seed, Large: n}, now, starts...)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	var written int64
	for i, p := range plans {
		sum, err := p.Load(ctx, st, seedgen.LoadOptions{To: shares[i](n), Progress: log, Label: label + ": loading"})
		if err != nil {
			return written, 0, err
		}
		written += sum.Written
	}
	took := time.Since(t0)
	if _, err := st.Pool().Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return written, took, err
	}
	fmt.Fprintf(log, "%s: %d observations loaded in %s\n", label, written, took.Round(time.Millisecond))
	return written, took, nil
}

const benchIssuer = "lookfor-bench"

// startServer starts a server on loopback ports over st, trusting a fresh development key, and
// returns its HTTP base URL, the key to mint tokens with, and a stop function.
func startServer(ctx context.Context, st *store.Store) (string, identity.DevKey, func(), error) {
	dir, err := os.MkdirTemp("", "lookfor-bench-pages-")
	if err != nil {
		return "", identity.DevKey{}, nil, err
	}
	key, jwksPath, err := identity.EnsureDevKey(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", key, nil, err
	}
	verifier, err := identity.NewVerifier(ctx, identity.Config{Issuer: benchIssuer, Audience: "lookfor", JWKSFile: jwksPath})
	if err != nil {
		os.RemoveAll(dir)
		return "", key, nil, err
	}
	scfg := server.DefaultConfig()
	scfg.GRPCAddr, scfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	scfg.NetworkIssuers = []identity.Trust{{Issuer: benchIssuer, LinkClaim: identity.LinkSubject}}
	srv, err := server.New(scfg, zap.NewNop(), st, verifier)
	if err != nil {
		os.RemoveAll(dir)
		return "", key, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	var once gosync.Once
	stop := func() { once.Do(func() { cancel(); <-done; os.RemoveAll(dir) }) }
	select {
	case <-srv.Ready():
	case err := <-done:
		os.RemoveAll(dir)
		return "", key, nil, fmt.Errorf("bench: pages: server did not start: %w", err)
	}
	_, httpAddr := srv.Addrs()
	return "http://" + httpAddr.String(), key, stop, nil
}

// get makes one REST call and reads the whole body; anything but 200 is an error.
func get(ctx context.Context, c *http.Client, u, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: pages: GET %s: %d %.200s", u, resp.StatusCode, b)
	}
	return nil
}

// Table renders the figures as a Markdown table.
func (r PagesResult) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %d observations, %d sites × %d classrooms | calls | p50 | p99 |\n|---|---|---|---|\n", r.Observations, r.Sites, r.Classrooms)
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", strings.ReplaceAll(row.Name, "  ", "&nbsp;&nbsp;"), row.Calls, dur(row.P50), dur(row.P99))
	}
	return b.String()
}
