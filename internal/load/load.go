// Package load drives many simulated tablets against one lookfor server for a set time, while
// optionally injecting a fault (PostgreSQL restarted, the server SIGKILLed, connections cut
// mid-push), then syncs every tablet one last time and checks that every observation every
// tablet recorded is on the server exactly once with an equal content hash. Everything talks to
// loopback only and every phase is bounded in time.
//
// It is a development tool: it may import any lookfor package; only cmd/, other development
// tools and tests import it.
package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/tablet"
)

// Faults.
const (
	FaultNone       = "none"
	FaultPGRestart  = "pg-restart"  // PostgreSQL stopped and started again mid-run
	FaultServerKill = "server-kill" // the server SIGKILLed and started again mid-run
	FaultConnCut    = "conn-cut"    // tablets' connections cut at random while pushes are in flight
)

// Faults lists the valid --fault values.
var Faults = []string{FaultNone, FaultPGRestart, FaultServerKill, FaultConnCut}

// Config sizes and shapes a run.
type Config struct {
	Tablets     int
	Duration    time.Duration // of the load phase
	RecordEvery time.Duration // mean time between two observations on one tablet
	SyncEvery   time.Duration // mean time between two syncs of one tablet
	DraftShare  float64       // share of observations saved as a draft first, submitted later

	// Server is an external server's gRPC address; empty: start `lookfor serve` (Binary) as a
	// child process on loopback ports, with a scratch database on DatabaseURL's server.
	Server      string
	Servers     int // how many `lookfor serve` processes the run starts on its database (own server only)
	Binary      string
	DatabaseURL string // the server's database (external), or where to create the scratch one
	DBMaxConns  int    // the child server's pool size
	KeyDir      string // dev signing key; default: a fresh key (own server) or .dev (external)
	Issuer      string // default lookfor-load (own server) or lookfor-dev (external, as `make run`)
	Audience    string

	Fault    string
	PGDir    string        // pg-restart: the throwaway cluster's folder (LOOKFOR_DEV_PG_DIR)
	PGPort   int           // pg-restart: its port (LOOKFOR_DEV_PG_PORT)
	PGScript string        // pg-restart: scripts/pg.sh
	Outage   time.Duration // pg-restart: how long PostgreSQL stays down; server-kill: the server
	CutRate  float64       // conn-cut: chance that a push in flight has its connection cut

	FinalSyncTimeout time.Duration
	WorkDir          string   // tablets' stores and the server log; default a temporary folder, removed
	ServeArgs        []string // more `lookfor serve` flags for the servers the run starts (e.g. --debug-addr)
	Seed             int64
}

// DefaultConfig is what `make load` runs.
func DefaultConfig() Config {
	return Config{Tablets: 200, Duration: 60 * time.Second, RecordEvery: 3 * time.Second, SyncEvery: 10 * time.Second,
		DraftShare: 0.2, Servers: 1, DBMaxConns: 16, Audience: "lookfor", Fault: FaultNone,
		PGScript: "scripts/pg.sh", Outage: 4 * time.Second, CutRate: 0.3, FinalSyncTimeout: 3 * time.Minute}
}

// Result is what a run measured and found.
type Result struct {
	Config       Config
	Postgres     string
	LoadTime     time.Duration // the load phase as it ran
	Recorded     int           // observations recorded (the expected set)
	ViaDraft     int           // of which first saved as a draft
	Load         snapshot      // transport metrics of the load phase
	Final        snapshot      // … of the whole run, final sync included
	FinalSync    time.Duration
	Syncs        int // Sync calls in the load phase
	SyncErrors   int // of which gave up with an error (the outbox is kept; the next sync resumes)
	PeakRSS      int64
	SettledRSS   int64 // the largest server resident set (VmRSS) settleTime after the check, 0 when not measured
	ServerStarts int
	Servers      []ServerReport // per server the run started, read from its /metrics before it stopped
	Fault        FaultReport
	Check        checkResult
	Problems     []string // anything else that went wrong (lost local records, stuck outboxes…)
}

// Passed reports whether the run found nothing wrong.
func (r Result) Passed() bool { return r.Check.OK() && r.Fault.OK && len(r.Problems) == 0 }

// FaultReport says what the fault did and whether the system came through as it must.
type FaultReport struct {
	Name    string
	OK      bool
	Summary string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func withDatabase(u, db string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("load: bad database url: %w", err)
	}
	p.Path = "/" + db
	return p.String(), nil
}

// Run runs the load test. It returns an error when the run could not be carried out; a run that
// was carried out but found something wrong returns a Result whose Passed is false.
func Run(ctx context.Context, cfg Config, progress io.Writer) (res Result, err error) {
	res.Config = cfg
	own := cfg.Server == ""
	switch {
	case cfg.Tablets < 1:
		return res, errors.New("load: --tablets must be at least 1")
	case cfg.Duration <= 0 || cfg.RecordEvery <= 0 || cfg.SyncEvery <= 0:
		return res, errors.New("load: --duration, --record-every and --sync-every must be positive")
	case cfg.DatabaseURL == "":
		return res, errors.New("load: no database: set --database-url or DATABASE_URL")
	case !contains(Faults, cfg.Fault):
		return res, fmt.Errorf("load: --fault must be one of %s", strings.Join(Faults, ", "))
	case !own && (cfg.Fault == FaultServerKill || cfg.Fault == FaultPGRestart):
		return res, fmt.Errorf("load: --fault %s needs the server started by the load run (no --server)", cfg.Fault)
	case cfg.Fault == FaultPGRestart && (cfg.PGDir == "" || cfg.PGPort == 0):
		return res, errors.New("load: --fault pg-restart needs --pg-dir and --pg-port of the throwaway cluster the database is on")
	case cfg.Servers < 1 || (!own && cfg.Servers > 1):
		return res, errors.New("load: --servers must be at least 1, and 1 with --server")
	case cfg.Servers > 1 && cfg.Fault != FaultNone:
		return res, errors.New("load: faults run against one server; use --servers 1")
	case own && cfg.Binary == "":
		return res, errors.New("load: no lookfor executable to start the server with")
	}

	dir := cfg.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "lookfor-load-"); err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	// The synthetic coaches are on the roster like anyone else: tokens name people, the roster
	// gives them their scope.
	network := withLoadCoaches(demo.Network(), principals(demo.Network(), cfg.Tablets))

	// The database: a scratch one of this run, migrated and seeded, when the run starts the
	// server; the external server's own otherwise.
	dbURL := cfg.DatabaseURL
	if own {
		name := "lookfor_load_" + randomHex(4)
		admin, err := pgx.Connect(ctx, cfg.DatabaseURL)
		if err != nil {
			return res, fmt.Errorf("load: connect %s: %w", redact(cfg.DatabaseURL), err)
		}
		_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
		admin.Close(context.Background())
		if err != nil {
			return res, fmt.Errorf("load: create the scratch database: %w", err)
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if admin, err := pgx.Connect(dctx, cfg.DatabaseURL); err == nil {
				_, _ = admin.Exec(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
				admin.Close(dctx)
			}
		}()
		if dbURL, err = withDatabase(cfg.DatabaseURL, name); err != nil {
			return res, err
		}
		if err := prepareDB(ctx, dbURL, network, &res); err != nil {
			return res, err
		}
	} else if err := postgresVersion(ctx, dbURL, &res); err != nil {
		return res, err
	} else if err := rosterLoadCoaches(ctx, dbURL, network); err != nil {
		return res, err
	}

	if cfg.Issuer == "" {
		cfg.Issuer = "lookfor-load"
		if !own {
			cfg.Issuer = "lookfor-dev"
		}
	}
	keyDir := cfg.KeyDir
	if keyDir == "" {
		keyDir = filepath.Join(dir, "keys")
		if !own {
			keyDir = ".dev"
		}
	}
	key, jwks, err := identity.EnsureDevKey(keyDir)
	if err != nil {
		return res, fmt.Errorf("load: dev key in %s: %w", keyDir, err)
	}

	// The server.
	grpcAddr := cfg.Server
	var srv *serverProc // the first server; faults act on it
	var srvs []*serverProc
	var grpcAddrs []string
	if own {
		for i := range cfg.Servers {
			httpAddr, err := freeLoopbackAddr()
			if err != nil {
				return res, err
			}
			addr, err := freeLoopbackAddr()
			if err != nil {
				return res, err
			}
			p := &serverProc{bin: cfg.Binary, httpAddr: httpAddr, logPath: filepath.Join(dir, fmt.Sprintf("server-%d.log", i+1)), args: []string{
				"--database-url", dbURL, "--grpc-addr", addr, "--http-addr", httpAddr, "--jwks-file", jwks,
				"--jwt-issuer", cfg.Issuer, "--jwt-audience", cfg.Audience, "--db-max-conns", fmt.Sprint(cfg.DBMaxConns),
				"--log-format", "json", "--log-level", "warn", "--shutdown-timeout", "10s",
			}}
			p.args = append(p.args, cfg.ServeArgs...)
			if err := p.start(ctx, 30*time.Second); err != nil {
				return res, err
			}
			defer func() {
				if serr := p.stop(20 * time.Second); serr != nil {
					res.Problems = append(res.Problems, "server stop: "+serr.Error())
				}
				res.PeakRSS, res.ServerStarts = max(res.PeakRSS, p.peakRSS()), res.ServerStarts+p.starts
			}()
			srvs, grpcAddrs = append(srvs, p), append(grpcAddrs, addr)
		}
		srv, grpcAddr = srvs[0], grpcAddrs[0]
	} else {
		grpcAddrs = []string{grpcAddr}
	}
	var proxy *Proxy
	if cfg.Fault == FaultConnCut {
		if proxy, err = newProxy("127.0.0.1:0", grpcAddr); err != nil {
			return res, err
		}
		defer proxy.Close()
		grpcAddrs = []string{proxy.Addr()}
	}

	// The tablets.
	m := newMetrics()
	newTransport := func(conn *grpc.ClientConn, tok string) tablet.Transport {
		return server.NewTransport(conn, func(context.Context) (string, error) { return tok, nil })
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	tablets := make([]*simTablet, 0, cfg.Tablets)
	defer func() {
		for _, t := range tablets {
			t.close()
		}
	}()
	for i, p := range principals(network, cfg.Tablets) {
		t, err := newTablet(i, dir, grpcAddrs[i%len(grpcAddrs)], p, network, key, cfg.Issuer, cfg.Audience, seed+int64(i)*7919, m, newTransport)
		if err != nil {
			return res, err
		}
		tablets = append(tablets, t)
	}
	fmt.Fprintf(progress, "load: %d tablets for %s against %s (fault: %s), an observation every ~%s and a sync every ~%s per tablet\n",
		cfg.Tablets, cfg.Duration, strings.Join(grpcAddrs, " and "), cfg.Fault, cfg.RecordEvery, cfg.SyncEvery)

	// The load phase.
	f := &faulter{cfg: cfg, srv: srv, proxy: proxy, m: m, progress: progress, network: network, key: key, grpcAddr: grpcAddr}
	if err := f.prepare(ctx); err != nil {
		return res, err
	}
	defer f.close()
	stop := make(chan struct{})
	var wg gosync.WaitGroup
	var recMu gosync.Mutex
	var recErrs []string
	start := time.Now()
	for _, t := range tablets {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := t.record(stop, cfg.RecordEvery, cfg.DraftShare); err != nil {
				recMu.Lock()
				recErrs = append(recErrs, err.Error())
				recMu.Unlock()
			}
		}()
		go func() { defer wg.Done(); t.syncLoop(ctx, stop, cfg.SyncEvery) }()
	}
	faultDone := make(chan struct{})
	go func() { defer close(faultDone); f.run(ctx, start) }()
	tick := time.NewTicker(10 * time.Second)
	deadline := time.NewTimer(cfg.Duration)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline.C:
			break loop
		case <-tick.C:
			s := m.snapshot()
			fmt.Fprintf(progress, "load: %3.0fs: %d observations recorded, %d changes pushed, %d records pulled, %d failed calls\n",
				time.Since(start).Seconds(), recordedSoFar(tablets), s.Pushed, s.Pulled, len(s.Errors))
		}
	}
	tick.Stop()
	deadline.Stop()
	close(stop)
	wg.Wait()
	res.LoadTime = time.Since(start)
	<-faultDone // the fault is over and the system restored
	res.Load = m.snapshot()
	res.Fault = f.report()
	res.Problems = append(res.Problems, recErrs...)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	for _, t := range tablets {
		res.Syncs += t.syncs
		res.SyncErrors += t.syncErrs
	}

	// The final sync: every tablet empties its outbox.
	fmt.Fprintf(progress, "load: final sync of %d tablets\n", len(tablets))
	fctx, cancel := context.WithTimeout(ctx, cfg.FinalSyncTimeout)
	defer cancel()
	fstart := time.Now()
	errs := make([]error, len(tablets))
	for i, t := range tablets {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = t.finalSync(fctx) }()
	}
	wg.Wait()
	res.FinalSync = time.Since(fstart)
	res.Final = m.snapshot()
	var expected []Expected
	for i, t := range tablets {
		if errs[i] != nil {
			res.Problems = append(res.Problems, errs[i].Error())
		}
		st, err := t.c.Status()
		if err != nil {
			return res, err
		}
		if st.Pending+st.Conflicts+st.Rejected > 0 {
			msg := fmt.Sprintf("tablet %d (%s): %d pending, %d conflicts, %d rejected after the final sync", t.n, t.p.UserID, st.Pending, st.Conflicts, st.Rejected)
			if rej, _ := t.c.Rejections(); len(rej) > 0 {
				r := rej[0].Result
				msg += fmt.Sprintf(" (e.g. %s %s %s: %s)", r.ObservationID, r.Reason, r.Field, r.Message)
			}
			res.Problems = append(res.Problems, msg)
		}
		exp, problems, err := t.expected()
		if err != nil {
			return res, err
		}
		expected = append(expected, exp...)
		res.Problems = append(res.Problems, problems...)
		res.ViaDraft += t.drafts
	}
	res.Recorded = len(expected)

	// The exactly-once check, against the database itself.
	cctx, ccancel := context.WithTimeout(ctx, 2*time.Minute)
	defer ccancel()
	conn, err := pgx.Connect(cctx, dbURL)
	if err != nil {
		return res, fmt.Errorf("load: check: %w", err)
	}
	defer conn.Close(context.Background())
	if res.Check, err = Check(cctx, conn, expected, own); err != nil {
		return res, err
	}
	if own {
		res.Servers, err = serverReports(cctx, srvs)
		if err != nil {
			return res, err
		}
		res.Problems = append(res.Problems, backgroundProblems(res.Servers)...)
		select { // what the servers keep once the load is over: the largest of them
		case <-time.After(settleTime):
			for _, p := range srvs {
				res.SettledRSS = max(res.SettledRSS, p.rss())
			}
		case <-ctx.Done():
		}
	}
	return res, nil
}

// settleTime is how long after the load the server's resident set is read again: long enough
// for the Go runtime to return freed memory to the system (its scavenger works in the
// background) and for idle database connections to close.
const settleTime = 15 * time.Second

func recordedSoFar(ts []*simTablet) int {
	n := 0
	for _, t := range ts {
		t.mu.Lock()
		n += len(t.recorded)
		t.mu.Unlock()
	}
	return n
}

// withLoadCoaches adds the synthetic coaches among ps to the roster.
func withLoadCoaches(network demo.Roster, ps []observation.Principal) demo.Roster {
	known := map[string]bool{}
	for _, s := range network.Staff {
		known[s.ID] = true
	}
	for _, p := range ps {
		if !known[p.UserID] {
			network.Staff = append(network.Staff, roster.Staff{DistrictID: p.DistrictID, ID: p.UserID,
				GivenName: "Load", FamilyName: p.UserID, Role: roster.StaffCoach, SiteIDs: p.SiteIDs})
		}
	}
	return network
}

// rosterLoadCoaches writes the synthetic coaches of network to an external server's database.
func rosterLoadCoaches(ctx context.Context, dbURL string, network demo.Roster) error {
	st, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	var staff []roster.Staff
	for _, s := range network.Staff {
		if strings.HasPrefix(s.ID, "load-coach-") {
			staff = append(staff, s)
		}
	}
	return st.UpsertRoster(ctx, store.Roster{Staff: staff})
}

// prepareDB migrates the scratch database and seeds the default rubric and the demo network, as
// `lookfor migrate up` and `lookfor seed` do.
func prepareDB(ctx context.Context, dbURL string, network demo.Roster, res *Result) error {
	st, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Pool().QueryRow(ctx, "SHOW server_version").Scan(&res.Postgres); err != nil {
		return err
	}
	mg, err := st.NewMigrator()
	if err != nil {
		return err
	}
	defer mg.Close()
	if _, err := mg.Up(ctx); err != nil {
		return fmt.Errorf("load: migrate: %w", err)
	}
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		return err
	}
	return st.UpsertRoster(ctx, store.Roster{Districts: network.Districts, Sites: network.Sites, Classrooms: network.Classrooms, Staff: network.Staff, NetworkStaff: network.NetworkStaff})
}

func postgresVersion(ctx context.Context, dbURL string, res *Result) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("load: connect %s: %w", redact(dbURL), err)
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, "SHOW server_version").Scan(&res.Postgres)
}

// redact hides a password in a URL for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	return p.Redacted()
}

// Table renders the result as the Markdown table `make load` prints.
func (r Result) Table() string {
	c := r.Config
	var b strings.Builder
	row := func(k, format string, args ...any) { fmt.Fprintf(&b, "| %s | %s |\n", k, fmt.Sprintf(format, args...)) }
	secs := r.LoadTime.Seconds()
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	b.WriteString("| measure | value |\n|---|---|\n")
	row("tablets × load time", "%d × %s (an observation every ~%s, a sync every ~%s per tablet; %.0f%% saved as drafts first)",
		c.Tablets, r.LoadTime.Round(time.Millisecond), c.RecordEvery, c.SyncEvery, c.DraftShare*100)
	row("fault", "%s", r.Fault.Summary)
	row("observations recorded", "%d (%.1f/s; %d first saved as drafts)", r.Recorded, float64(r.Recorded)/secs, r.ViaDraft)
	row("push throughput (load phase)", "%.1f changes/s in %d pushes (%.1f pushes/s); %d results were replays",
		float64(r.Load.Pushed)/secs, len(r.Load.Push), float64(len(r.Load.Push))/secs, r.Final.Replayed)
	row("pull throughput (load phase)", "%.1f records/s in %d pulls", float64(r.Load.Pulled)/secs, len(r.Load.Pull))
	row("push latency p50 (p99)", "%s (%s)", ms(Percentile(r.Load.Push, 50)), ms(Percentile(r.Load.Push, 99)))
	row("pull latency p50 (p99)", "%s (%s)", ms(Percentile(r.Load.Pull, 50)), ms(Percentile(r.Load.Pull, 99)))
	row("failed calls (load phase)", "%d: %s", len(r.Load.Errors), errorCounts(r.Load.Errors))
	row("syncs that gave up (retried later)", "%d of %d", r.SyncErrors, r.Syncs)
	row("final sync of every tablet", "%s, %d failed calls", r.FinalSync.Round(time.Millisecond), len(r.Final.Errors)-len(r.Load.Errors))
	if r.PeakRSS > 0 {
		row("server peak RSS (VmHWM)", "%.1f MiB (%d server process(es))", float64(r.PeakRSS)/(1<<20), r.ServerStarts)
		if r.SettledRSS > 0 {
			row("server RSS after the load settled (VmRSS, "+settleTime.String()+" after the check)", "%.1f MiB", float64(r.SettledRSS)/(1<<20))
		}
	} else {
		row("server peak RSS (VmHWM)", "n/a (external server)")
	}
	if len(r.Servers) > 0 {
		row("servers on the database", "%s", serversSummary(r.Servers))
	}
	row("exactly-once check", "%s", r.Check)
	if len(r.Problems) > 0 {
		shown := r.Problems[:min(5, len(r.Problems))]
		row("problems", "%d: %s", len(r.Problems), strings.Join(shown, "; "))
	}
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	row("verdict", "%s", verdict)
	return b.String()
}
