package bench

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/store"
)

// NetworkConfig sizes the network figures: the shared measures of Districts opted-in districts
// of Sites × Classrooms each, with PerDistrict observations in each.
type NetworkConfig struct {
	Districts, Sites, Classrooms int
	PerDistrict                  int // 0: no network figures
	Runs, Warmup                 int
	Seed                         int64
	// Database, when set, names a database on the admin URL's server that is kept between runs:
	// created, migrated and loaded by the first run, then migrated and reused as it is by the
	// next ones with the same sizes (no load; the load figure is then 0).
	Database string
}

// DefaultNetworkConfig is the size but for the observations, which the caller sets.
func DefaultNetworkConfig() NetworkConfig {
	return NetworkConfig{Districts: 10, Sites: 30, Classrooms: 25, Runs: 30, Warmup: 3, Seed: 17}
}

// NetworkResult holds the network figures.
type NetworkResult struct {
	Districts, Sites, Classrooms int
	Observations                 int64
	Load                         time.Duration
	Period, Previous             string
	WarmP50, WarmP99             time.Duration // one service: the site rows read before reused
	ColdP50, ColdP99             time.Duration // a new service each call: every row read whole
	PostgresVersion              string
}

// RunNetwork loads the network's districts (every one opted in) into a scratch database and times
// the network measures of the school year in progress as a network analyst, call by call through
// one service (what a server does) and through a new service (a first read), alternately. The
// two must be equal at every call, else RunNetwork fails.
func RunNetwork(ctx context.Context, adminURL string, cfg NetworkConfig, log io.Writer) (NetworkResult, error) {
	res := NetworkResult{Districts: cfg.Districts, Sites: cfg.Sites, Classrooms: cfg.Classrooms}
	if cfg.PerDistrict < 1 || cfg.Districts < 1 || cfg.Runs < 1 || cfg.Warmup < 0 {
		return res, fmt.Errorf("bench: network: districts, observations and runs must be at least 1")
	}
	net, err := demo.Scale(demo.ScaleConfig{Districts: cfg.Districts, SitesPerDistrict: cfg.Sites, ClassroomsPerSite: cfg.Classrooms, Seed: cfg.Seed})
	if err != nil {
		return res, err
	}
	for i := range net.Districts {
		net.Districts[i].Settings.NetworkOptIn = true
	}
	var st *store.Store
	var version string
	loaded := int64(0)
	if cfg.Database != "" {
		st, version, loaded, err = keptStore(ctx, adminURL, cfg.Database, 4)
		if err != nil {
			return res, err
		}
		defer st.Close()
	} else {
		var drop func()
		if st, version, drop, err = scratchStore(ctx, adminURL, 4); err != nil {
			return res, err
		}
		defer drop()
	}
	res.PostgresVersion = version
	if loaded == 0 {
		res.Observations, res.Load, err = loadRoster(ctx, st, net, cfg.Seed, cfg.PerDistrict*cfg.Districts, "bench: network", log)
		if err != nil {
			return res, err
		}
	} else if want := int64(cfg.PerDistrict * cfg.Districts); loaded != want {
		return res, fmt.Errorf("bench: network: database %s holds %d observations, not %d: drop it or name another", cfg.Database, loaded, want)
	} else {
		res.Observations = loaded
		fmt.Fprintf(log, "bench: network: reusing the %d observations of database %s\n", loaded, cfg.Database)
	}
	settings := observation.DefaultDistrictSettings()
	now := time.Now().UTC()
	cur, ok := progress.PeriodOf(progress.PeriodSchoolYear, now, settings)
	if !ok {
		return res, fmt.Errorf("bench: network: no school year for %s", now.Format(time.DateOnly))
	}
	res.Period, res.Previous = cur.Key, cur.Previous(settings).Key
	analyst := observation.Principal{UserID: "bench-network-analyst", Role: observation.RoleNetworkAnalyst}
	q := progress.ViewQuery{PeriodKind: string(progress.PeriodSchoolYear), PeriodKey: cur.Key}
	pr := &progress.Service{Store: st, Now: func() time.Time { return now }}
	var warm, cold []time.Duration
	fmt.Fprintf(log, "bench: network: measures of %d districts, %d calls each way, alternately\n", cfg.Districts, cfg.Runs)
	for run := -cfg.Warmup; run < cfg.Runs; run++ {
		t0 := time.Now()
		a, err := pr.Network(ctx, analyst, q)
		if err != nil {
			return res, fmt.Errorf("network measures: %w", err)
		}
		t1 := time.Now()
		b, err := (&progress.Service{Store: st, Now: pr.Now}).Network(ctx, analyst, q)
		if err != nil {
			return res, fmt.Errorf("network measures: %w", err)
		}
		if run >= 0 {
			warm, cold = append(warm, t1.Sub(t0)), append(cold, time.Since(t1))
		}
		if !reflect.DeepEqual(a, b) {
			return res, fmt.Errorf("bench: network: the measures with reused site rows differ from those read whole:\n%+v\n%+v", a, b)
		}
		if len(a.Districts) != cfg.Districts || a.Total.Observations.NoData {
			return res, fmt.Errorf("bench: network: %d districts in the measures, want %d with observations", len(a.Districts), cfg.Districts)
		}
	}
	res.WarmP50, res.WarmP99 = percentile(warm, 50), percentile(warm, 99)
	res.ColdP50, res.ColdP99 = percentile(cold, 50), percentile(cold, 99)
	return res, nil
}

// Table renders the network figures as a Markdown table.
func (r NetworkResult) Table(cfg NetworkConfig) string {
	return fmt.Sprintf(`| measure | value |
|---|---|
| load through CopyObservations, aggregates maintained: %d observations (%d districts) | %s |
| network measures (school year %s vs %s, %d opted-in districts, network analyst), one service, p50 (p99) over %d calls | %s (%s) |
| the same from a new service each call (every site row read and summed whole: a first read), p50 (p99), calls alternating with the above | %s (%s) |
| new service ÷ one service, p50 | %.1f |
`, r.Observations, r.Districts, loadCell(r.Observations, r.Load), r.Period, r.Previous, r.Districts, cfg.Runs,
		dur(r.WarmP50), dur(r.WarmP99), dur(r.ColdP50), dur(r.ColdP99), r.ColdP50.Seconds()/r.WarmP50.Seconds())
}

// loadCell is the load's rate, or says that nothing was loaded (a kept database reused).
func loadCell(n int64, d time.Duration) string {
	if d <= 0 {
		return "none loaded: a kept database reused (--network-db)"
	}
	return fmt.Sprintf("%.0f observations/s", loadRate(n, d))
}

func loadRate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// keptStore opens the database name on adminURL's server, creating it when it does not exist,
// migrates it and returns how many observations it holds. It is never dropped.
func keptStore(ctx context.Context, adminURL, name string, maxConns int32) (*store.Store, string, int64, error) {
	if !keptName.MatchString(name) {
		return nil, "", 0, fmt.Errorf("bench: --network-db %q: use lowercase letters, digits and _", name)
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, "", 0, fmt.Errorf("bench: admin connection: %w", err)
	}
	defer admin.Close(context.Background())
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return nil, "", 0, err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return nil, "", 0, err
		}
	}
	cc := admin.Config()
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cc.User, cc.Host, cc.Port, name)
	if cc.Password != "" {
		url = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cc.User, cc.Password, cc.Host, cc.Port, name)
	}
	st, version, err := openMigrated(ctx, url, maxConns)
	if err != nil {
		return nil, "", 0, err
	}
	var n int64
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM observations").Scan(&n); err != nil {
		st.Close()
		return nil, "", 0, err
	}
	return st, version, n, nil
}

var keptName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
