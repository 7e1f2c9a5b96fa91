// Package bench measures lookfor on this machine, every figure beside a baseline measured in the
// same run. Run measures the sync path: push throughput through gRPC against a raw pgx CopyFrom
// of the same rows, the latency of an incremental pull with nothing new, and an initial pull of
// 5,000 records. RunProgress measures the district progress view at 100k and 1M observations in
// one district against a plain GROUP BY over the raw observations. Each creates and drops its own
// database; everything talks to loopback only.
//
// It is a development tool: it may import any lookfor package; only cmd/, other development
// tools and tests import it.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	gosync "sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/seedgen"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	progresspkg "github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// Config sizes the run.
type Config struct {
	AdminURL        string         // a PostgreSQL URL whose role may create databases
	Devices         int            // concurrent pushing devices (8)
	BatchSize       int            // changes per push (100)
	BatchesPerDev   int            // pushes per device per round
	Rounds          int            // alternating rounds of baseline and push
	InitialPull     int            // records in the initial pull (5,000)
	PullPage        int            // page size of pulls (500)
	IncrementalRuns int            // repetitions of the empty incremental pull
	PushStored      int            // observations bulk-loaded before a second set of push rounds (0: none)
	Progress        ProgressConfig // the progress figures (RunProgress)
}

// DefaultConfig is what `make bench` runs.
func DefaultConfig(adminURL string) Config {
	return Config{AdminURL: adminURL, Devices: 8, BatchSize: 100, BatchesPerDev: 10, Rounds: 3,
		InitialPull: 5000, PullPage: 500, IncrementalRuns: 300, Progress: defaultProgressConfig()}
}

// Result holds the figures.
type Result struct {
	PushPerSec, CopyPerSec float64
	PushRows               int
	Push, Copy             CPU // CPU time per observation of the push and of the CopyFrom baseline
	// With PushStored: the same rounds again after loading Stored observations into the push
	// database through store.CopyObservations (at LoadPerSec), aggregates maintained.
	Stored                             int
	LoadPerSec                         float64
	StoredPushPerSec, StoredCopyPerSec float64
	StoredPush, StoredCopy             CPU
	IncrementalP50                     time.Duration
	IncrementalP99                     time.Duration
	InitialPull                        time.Duration
	InitialPullRecords                 int
	PostgresVersion                    string
	// Scope: what resolving the caller through the roster at every call costs, next to reading
	// the scope from the token's claims (verification alone), and a whole WhoAmI call.
	ScopeTokenP50, ScopeRosterP50, WhoAmIP50 time.Duration
	// ResolveNetworkP50 and ResolveDistrictP50 time resolving alone (no verification) for an
	// identity of the network issuer and of a district's own provider (whose link counts only
	// while the district still trusts the provider: one more index probe).
	ResolveNetworkP50, ResolveDistrictP50 time.Duration
	ScopeRuns                             int
}

// Run sets up a database and a server, measures, and tears both down.
func Run(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	var res Result
	st, version, drop, err := scratchStore(ctx, cfg.AdminURL, 16)
	if err != nil {
		return res, err
	}
	defer drop()
	res.PostgresVersion = version
	network := demo.Network()
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		return res, err
	}
	if err := st.UpsertRoster(ctx, store.Roster{Districts: network.Districts, Sites: network.Sites, Classrooms: network.Classrooms, Staff: network.Staff, NetworkStaff: network.NetworkStaff}); err != nil {
		return res, err
	}

	// A server on loopback ports, as `lookfor serve` runs it.
	dir, err := os.MkdirTemp("", "lookfor-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	key, jwksPath, err := identity.EnsureDevKey(dir)
	if err != nil {
		return res, err
	}
	verifier, err := identity.NewVerifier(ctx, identity.Config{Issuer: "lookfor-bench", Audience: "lookfor", JWKSFile: jwksPath})
	if err != nil {
		return res, err
	}
	scfg := server.DefaultConfig()
	scfg.GRPCAddr, scfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	scfg.NetworkIssuers = []identity.Trust{{Issuer: "lookfor-bench", LinkClaim: identity.LinkSubject}}
	srv, err := server.New(scfg, zap.NewNop(), st, verifier)
	if err != nil {
		return res, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { stop(); <-done }()
	<-srv.Ready()
	grpcAddr, _ := srv.Addrs()
	conn, err := grpc.NewClient(grpcAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return res, err
	}
	defer conn.Close()

	b := &bencher{cfg: cfg, st: st, conn: conn, key: key, net: network}
	if err := b.prepare(ctx); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "bench: %d devices × %d batches × %d changes, %d rounds\n", cfg.Devices, cfg.BatchesPerDev, cfg.BatchSize, cfg.Rounds)
	if res.PushRows, res.PushPerSec, res.CopyPerSec, res.Push, res.Copy, err = b.rounds(ctx, 0, progress); err != nil {
		return res, err
	}
	if cfg.PushStored > 0 {
		if res.LoadPerSec, err = b.store(ctx, cfg.PushStored, progress); err != nil {
			return res, fmt.Errorf("loading %d observations: %w", cfg.PushStored, err)
		}
		res.Stored = cfg.PushStored
		if _, res.StoredPushPerSec, res.StoredCopyPerSec, res.StoredPush, res.StoredCopy, err = b.rounds(ctx, cfg.Rounds+1, progress); err != nil {
			return res, err
		}
	}

	if res.InitialPull, res.InitialPullRecords, res.IncrementalP50, res.IncrementalP99, err = b.pulls(ctx); err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	if err := b.scope(ctx, verifier, identity.NewResolver(st, scfg.NetworkIssuers...), &res); err != nil {
		return res, fmt.Errorf("scope: %w", err)
	}
	return res, nil
}

// rounds runs an untimed warm-up round, then cfg.Rounds timed rounds, each the CopyFrom
// baseline then the push of the same rows, numbered from first (so that every round pushes new
// records under new seqs), and returns the timed rows of each kind, both throughputs and the CPU
// time per observation of both. The warm-up round opens the connections both sides use and
// fills the caches of a new database: the first round of a run was the slowest for both (its
// CopyFrom 10,288-11,914/s against 15,128-18,473/s after), which weighed on the empty database's
// figures only and not on those with observations stored, measured after it.
func (b *bencher) rounds(ctx context.Context, first int, progress io.Writer) (rows int, pushPerSec, copyPerSec float64, pushCPU, copyCPU CPU, err error) {
	warm := b.records(first)
	if _, err := b.copyBaseline(ctx, warm); err != nil {
		return 0, 0, 0, CPU{}, CPU{}, fmt.Errorf("copy baseline: %w", err)
	}
	if _, err := b.push(ctx, warm, first); err != nil {
		return 0, 0, 0, CPU{}, CPU{}, fmt.Errorf("push: %w", err)
	}
	fmt.Fprintf(progress, "bench: warm-up round done\n")
	var pushDur, copyDur time.Duration
	for round := first + 1; round <= first+b.cfg.Rounds; round++ {
		recs := b.records(round)
		n := 0
		for _, r := range recs {
			n += len(r)
		}
		c0 := b.cpu(ctx)
		d, err := b.copyBaseline(ctx, recs)
		if err != nil {
			return 0, 0, 0, CPU{}, CPU{}, fmt.Errorf("copy baseline: %w", err)
		}
		c1 := b.cpu(ctx)
		p, err := b.push(ctx, recs, round)
		if err != nil {
			return 0, 0, 0, CPU{}, CPU{}, fmt.Errorf("push: %w", err)
		}
		c2 := b.cpu(ctx)
		copyCPU, pushCPU = copyCPU.add(c1.sub(c0)), pushCPU.add(c2.sub(c1))
		copyDur, pushDur = copyDur+d, pushDur+p
		rows += n
		fmt.Fprintf(progress, "bench: round %d: %d rows, push %.0f/s, CopyFrom %.0f/s\n", round-first, n, float64(n)/p.Seconds(), float64(n)/d.Seconds())
	}
	return rows, float64(rows) / pushDur.Seconds(), float64(rows) / copyDur.Seconds(), pushCPU.per(rows), copyCPU.per(rows), nil
}

// store bulk-loads n submitted observations of the pushers' district through
// store.CopyObservations (internal/seedgen, aggregates maintained), over the current school year
// (the previous one while the current one is less than a month old), then vacuums and analyses
// the database as autovacuum would have by then. It returns the load's observations per second.
func (b *bencher) store(ctx context.Context, n int, progress io.Writer) (float64, error) {
	d := b.net.Districts[0]
	net := demo.Roster{Districts: []observation.District{d}}
	for _, s := range b.net.Sites {
		if s.DistrictID == d.ID {
			net.Sites = append(net.Sites, s)
		}
	}
	for _, c := range b.net.Classrooms {
		if c.DistrictID == d.ID && c.SiteID != b.pullRm.SiteID { // the initial pull counts exactly its own records
			net.Classrooms = append(net.Classrooms, c)
		}
	}
	for _, s := range b.net.Staff {
		if s.DistrictID == d.ID {
			net.Staff = append(net.Staff, s)
		}
	}
	now := time.Now().UTC()
	year, ok := progresspkg.PeriodOf(progresspkg.PeriodSchoolYear, now.AddDate(0, 0, -1), d.Settings)
	if !ok {
		return 0, fmt.Errorf("no school year for %s", now.Format(time.DateOnly))
	}
	if now.Sub(year.Start) < 30*24*time.Hour {
		year = year.Previous(d.Settings)
	}
	rv, err := b.st.GetRubricVersion(ctx, b.rubric.RubricID, b.rubric.Version)
	if err != nil {
		return 0, err
	}
	plan, err := seedgen.New(net, rv, 7, n, year.Start, now)
	if err != nil {
		return 0, err
	}
	sum, err := plan.Load(ctx, b.st, seedgen.LoadOptions{Progress: progress, Label: "bench: push: storing"})
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if _, err := b.st.Pool().Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return 0, err
	}
	fmt.Fprintf(progress, "bench: push: %d observations stored in %s (%.0f/s), VACUUM ANALYZE %s\n", sum.Written,
		sum.Elapsed.Round(time.Millisecond), float64(sum.Written)/sum.Elapsed.Seconds(), time.Since(t0).Round(time.Millisecond))
	return float64(sum.Written) / sum.Elapsed.Seconds(), nil
}

// scope times, alternately in one loop, the two ways a call can learn its caller's scope: from
// the token alone (verify the signature and read the claims, as lookfor did before the roster
// decided) and from the roster (verify, then resolve the identity to its staff record, as every
// call does now); and a whole WhoAmI call through gRPC.
func (b *bencher) scope(ctx context.Context, v *identity.Verifier, r *identity.Resolver, res *Result) error {
	p := b.pushers[0]
	tok, err := b.key.Mint(p, "lookfor-bench", "lookfor", time.Hour)
	if err != nil {
		return err
	}
	md := metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok))
	ic := pb.NewIdentityServiceClient(b.conn)
	if _, err := ic.WhoAmI(md, &pb.WhoAmIRequest{}); err != nil { // links the identity once
		return err
	}
	// The same person as an identity of the district's own provider, linked by subject.
	const districtIssuer = "https://idp.bench.example"
	if err := b.st.TrustIssuer(ctx, identity.Trust{DistrictID: p.DistrictID, Issuer: districtIssuer, Audiences: []string{"lookfor"},
		LinkClaim: identity.LinkSubject}); err != nil {
		return err
	}
	networkID, err := v.Verify(ctx, tok)
	if err != nil {
		return err
	}
	districtID := identity.Identity{Issuer: districtIssuer, Subject: p.UserID, Audience: []string{"lookfor"}}
	if _, err := r.Resolve(ctx, districtID); err != nil { // links it once
		return err
	}
	const runs = 2000
	token, roster, call := make([]time.Duration, 0, runs), make([]time.Duration, 0, runs), make([]time.Duration, 0, runs)
	resNet, resDist := make([]time.Duration, 0, runs), make([]time.Duration, 0, runs)
	for range runs {
		t0 := time.Now()
		if _, err := v.Verify(ctx, tok); err != nil {
			return err
		}
		t1 := time.Now()
		id, err := v.Verify(ctx, tok)
		if err != nil {
			return err
		}
		if _, err := r.Resolve(ctx, id); err != nil {
			return err
		}
		t2 := time.Now()
		if _, err := ic.WhoAmI(md, &pb.WhoAmIRequest{}); err != nil {
			return err
		}
		token, roster, call = append(token, t1.Sub(t0)), append(roster, t2.Sub(t1)), append(call, time.Since(t2))
		t3 := time.Now()
		if _, err := r.Resolve(ctx, networkID); err != nil {
			return err
		}
		t4 := time.Now()
		if _, err := r.Resolve(ctx, districtID); err != nil {
			return err
		}
		resNet, resDist = append(resNet, t4.Sub(t3)), append(resDist, time.Since(t4))
	}
	res.ResolveNetworkP50, res.ResolveDistrictP50 = median(resNet), median(resDist)
	res.ScopeRuns = runs
	res.ScopeTokenP50, res.ScopeRosterP50, res.WhoAmIP50 = median(token), median(roster), median(call)
	return nil
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

type bencher struct {
	cfg     Config
	st      *store.Store
	conn    *grpc.ClientConn
	key     identity.DevKey
	net     demo.Roster
	pushers []observation.Principal
	devices []string
	puller  observation.Principal
	rooms   []observation.Classroom // classrooms the pushers record in
	pullRm  observation.Classroom   // the puller's classroom
	groups  []observation.StudentGroup
	rubric  observation.RubricVersion
}

// prepare picks the principals: pushers record in every site of the first district but one;
// the puller is the principal of that one site, so its initial pull holds exactly its records.
func (b *bencher) prepare(ctx context.Context) error {
	d := b.net.Districts[0]
	b.groups = d.Settings.StudentGroups
	b.rubric = observation.DefaultRubricVersion(time.Now())
	var sites []string
	for _, s := range b.net.Sites {
		if s.DistrictID == d.ID {
			sites = append(sites, s.ID)
		}
	}
	pullSite, pushSites := sites[0], sites[1:]
	for _, c := range b.net.Classrooms {
		switch {
		case c.SiteID == pullSite && b.pullRm.ID == "":
			b.pullRm = c
		case slices.Contains(pushSites, c.SiteID):
			b.rooms = append(b.rooms, c)
		}
	}
	b.puller = observation.Principal{UserID: "bench-principal", Role: observation.RolePrincipal, DistrictID: d.ID, SiteIDs: []string{pullSite}}
	for i := 0; i < b.cfg.Devices; i++ {
		p := observation.Principal{UserID: fmt.Sprintf("bench-coach-%d", i), Role: observation.RoleCoach, DistrictID: d.ID, SiteIDs: pushSites}
		tr := b.transport(p)
		id := uuid.Must(uuid.NewV7()).String()
		if _, err := tr.RegisterDevice(ctx, id, "bench", 1); err != nil {
			return err
		}
		b.pushers, b.devices = append(b.pushers, p), append(b.devices, id)
	}
	return nil
}

// transport puts p on the roster and returns a transport signed in as p.
func (b *bencher) transport(p observation.Principal) *server.Transport {
	err := b.st.EnsureStaff(context.Background(), identity.Staff{DistrictID: p.DistrictID, StaffID: p.UserID, Role: string(p.Role), SiteIDs: p.SiteIDs})
	if err != nil {
		return server.NewTransport(b.conn, func(context.Context) (string, error) { return "", err })
	}
	tok, err := b.key.Mint(p, "lookfor-bench", "lookfor", 2*time.Hour)
	return server.NewTransport(b.conn, func(context.Context) (string, error) { return tok, err })
}

// records generates one round's records per device.
func (b *bencher) records(round int) [][]observation.Record {
	out := make([][]observation.Record, b.cfg.Devices)
	n := b.cfg.BatchSize * b.cfg.BatchesPerDev
	start := time.Now().UTC().Add(-90 * 24 * time.Hour)
	for i := range out {
		g := synth.New(int64(round*1000 + i))
		p := b.pushers[i]
		out[i] = g.Batch(n, func(j int) synth.Input {
			return synth.Input{Classroom: b.rooms[(i*n+j)%len(b.rooms)], Observer: p, Rubric: b.rubric, StudentGroups: b.groups,
				When: start.Add(time.Duration(j) * time.Minute), Status: observation.RecordSubmitted}
		})
	}
	return out
}

// copyBaseline writes the same rows with a raw pgx CopyFrom into a table shaped like
// observations, with the same concurrency and batch size as the push.
func (b *bencher) copyBaseline(ctx context.Context, recs [][]observation.Record) (time.Duration, error) {
	pool := b.st.Pool()
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy (LIKE observations INCLUDING ALL)`); err != nil {
		return 0, err
	}
	cols := []string{"district_id", "observation_id", "site_id", "classroom_id", "teacher_id", "observer_id", "status", "kind",
		"rubric_id", "rubric_version", "started_at", "revision", "content", "content_hash", "updated_by", "committed_at"}
	start := time.Now()
	err := parallel(len(recs), func(i int) error {
		for lo := 0; lo < len(recs[i]); lo += b.cfg.BatchSize {
			batch := recs[i][lo:min(lo+b.cfg.BatchSize, len(recs[i]))]
			rows := make([][]any, len(batch))
			now := time.Now()
			for j, r := range batch {
				// Encoded as the server stores a record: its canonical JSON and that JSON's hash,
				// computed once.
				content, hash := r.Canonical()
				rows[j] = []any{r.DistrictID, r.ID, r.SiteID, r.ClassroomID, r.TeacherID, r.ObserverID, string(r.Status), string(r.Kind),
					r.RubricID, int32(r.RubricVersion), r.StartedAt, int32(1), string(content), hash, r.ObserverID, now}
			}
			if _, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, cols, pgx.CopyFromRows(rows)); err != nil {
				return err
			}
		}
		return nil
	})
	return time.Since(start), err
}

// push sends the same rows through the sync protocol over gRPC.
func (b *bencher) push(ctx context.Context, recs [][]observation.Record, round int) (time.Duration, error) {
	start := time.Now()
	err := parallel(len(recs), func(i int) error {
		tr := b.transport(b.pushers[i])
		seq := int64(round*len(recs[i]) + 1)
		for lo := 0; lo < len(recs[i]); lo += b.cfg.BatchSize {
			batch := recs[i][lo:min(lo+b.cfg.BatchSize, len(recs[i]))]
			changes := make([]sync.Change, len(batch))
			for j, r := range batch {
				changes[j] = sync.Change{Seq: seq, Op: sync.OpUpsert, Record: r, ObservationID: r.ID}
				seq++
			}
			resp, err := tr.Push(ctx, sync.PushRequest{DeviceID: b.devices[i], Changes: changes, SchemaVersion: 1})
			if err != nil {
				return err
			}
			for _, r := range resp.Results {
				if r.Status != sync.StatusApplied {
					return fmt.Errorf("change %d: %s %s %s: %s", r.Seq, r.Status, r.Reason, r.Field, r.Message)
				}
			}
		}
		return nil
	})
	return time.Since(start), err
}

// pulls measures an initial pull of InitialPull records and incremental pulls with nothing new.
func (b *bencher) pulls(ctx context.Context) (initial time.Duration, n int, p50, p99 time.Duration, err error) {
	p := b.puller
	tr := b.transport(p)
	dev := uuid.Must(uuid.NewV7()).String()
	if _, err = tr.RegisterDevice(ctx, dev, "bench", 1); err != nil {
		return
	}
	g := synth.New(42)
	start := time.Now().UTC().Add(-60 * 24 * time.Hour)
	recs := g.Batch(b.cfg.InitialPull, func(j int) synth.Input {
		return synth.Input{Classroom: b.pullRm, Observer: p, Rubric: b.rubric, StudentGroups: b.groups,
			When: start.Add(time.Duration(j) * time.Minute), Status: observation.RecordSubmitted}
	})
	for lo, seq := 0, int64(1); lo < len(recs); lo += 500 {
		batch := recs[lo:min(lo+500, len(recs))]
		changes := make([]sync.Change, len(batch))
		for j, r := range batch {
			changes[j] = sync.Change{Seq: seq, Op: sync.OpUpsert, Record: r, ObservationID: r.ID}
			seq++
		}
		if _, err = tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: changes, SchemaVersion: 1}); err != nil {
			return
		}
	}
	// A second device of the same user pulls everything from an empty cursor.
	reader := uuid.Must(uuid.NewV7()).String()
	if _, err = tr.RegisterDevice(ctx, reader, "bench", 1); err != nil {
		return
	}
	t0 := time.Now()
	cursor := ""
	for {
		var page sync.PullPage
		page, err = tr.Pull(ctx, sync.PullRequest{DeviceID: reader, Cursor: cursor, Limit: b.cfg.PullPage})
		if err != nil {
			return
		}
		n += len(page.Upserts)
		cursor = page.Cursor
		if !page.HasMore {
			break
		}
	}
	initial = time.Since(t0)
	if n != len(recs) {
		err = fmt.Errorf("initial pull returned %d records, want %d", n, len(recs))
		return
	}
	lat := make([]time.Duration, b.cfg.IncrementalRuns)
	for i := range lat {
		t := time.Now()
		var page sync.PullPage
		page, err = tr.Pull(ctx, sync.PullRequest{DeviceID: reader, Cursor: cursor, Limit: b.cfg.PullPage})
		if err != nil {
			return
		}
		lat[i] = time.Since(t)
		if len(page.Upserts)+len(page.Tombstones) != 0 {
			err = fmt.Errorf("incremental pull with nothing new returned %d upserts", len(page.Upserts))
			return
		}
		cursor = page.Cursor
	}
	slices.Sort(lat)
	return initial, n, lat[len(lat)/2], lat[len(lat)*99/100], nil
}

// scratchStore creates a database named lookfor_bench_… on adminURL, opens a store on it with at
// most maxConns connections and migrates it. drop closes the store and drops the database.
func scratchStore(ctx context.Context, adminURL string, maxConns int32) (st *store.Store, version string, drop func(), err error) {
	sc, err := newScratch(ctx, adminURL)
	if err != nil {
		return nil, "", nil, err
	}
	_, url, err := sc.create(ctx, "")
	if err != nil {
		sc.close()
		return nil, "", nil, err
	}
	st, version, err = openMigrated(ctx, url, maxConns)
	if err != nil {
		sc.close()
		return nil, "", nil, err
	}
	return st, version, func() { st.Close(); sc.close() }, nil
}

// scratch creates databases on an admin connection and drops them all on close.
type scratch struct {
	admin *pgx.Conn
	names []string
}

func newScratch(ctx context.Context, adminURL string) (*scratch, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("bench: admin connection: %w", err)
	}
	return &scratch{admin: admin}, nil
}

// create makes a database lookfor_bench_…, empty or a copy of template, and returns its name and
// URL. A template must have no open connections; create retries while PostgreSQL says it has
// (a backend of a pool just closed may take a moment to exit).
func (s *scratch) create(ctx context.Context, template string) (name, url string, err error) {
	name = "lookfor_bench_" + uuid.NewString()[:8]
	sql := "CREATE DATABASE " + name
	if template != "" {
		sql += " TEMPLATE " + template
	}
	for attempt := 0; ; attempt++ {
		_, err = s.admin.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 5 || !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return "", "", err
	}
	s.names = append(s.names, name)
	cc := s.admin.Config()
	url = fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cc.User, cc.Host, cc.Port, name)
	if cc.Password != "" {
		url = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cc.User, cc.Password, cc.Host, cc.Port, name)
	}
	return name, url, nil
}

// close drops every database create made and closes the admin connection.
func (s *scratch) close() {
	for _, name := range s.names {
		_, _ = s.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	s.admin.Close(context.Background())
}

// openMigrated opens a store on url with at most maxConns connections, migrates it and returns
// the server's version.
func openMigrated(ctx context.Context, url string, maxConns int32) (*store.Store, string, error) {
	st, err := store.Open(ctx, url, store.Options{MaxConns: maxConns})
	if err != nil {
		return nil, "", err
	}
	var version string
	if err := st.Pool().QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		st.Close()
		return nil, "", err
	}
	m, err := st.NewMigrator()
	if err != nil {
		st.Close()
		return nil, "", err
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		st.Close()
		return nil, "", err
	}
	return st, version, nil
}

func parallel(n int, fn func(i int) error) error {
	var wg gosync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); errs[i] = fn(i) }(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Table renders the figures as the Markdown table `make bench` prints.
func (r Result) Table(cfg Config) string {
	t := fmt.Sprintf(`| measure | value |
|---|---|
| push through gRPC (%d devices, batches of %d, %d observations) | %.0f observations/s |
| raw pgx CopyFrom of the same rows (same concurrency and batches) | %.0f observations/s |
| push ÷ CopyFrom (target ≥ 0.6) | %.2f |
| CPU per observation, push (Go: bench client and server; PostgreSQL: its backends, compaction included) | %s |
| CPU per observation, CopyFrom | %s |
`, cfg.Devices, cfg.BatchSize, r.PushRows, r.PushPerSec, r.CopyPerSec, r.PushPerSec/r.CopyPerSec, r.Push, r.Copy)
	if r.Stored > 0 {
		stored := r.StoredPushPerSec / r.StoredCopyPerSec
		t += fmt.Sprintf(`| with %d observations already stored (loaded at %.0f/s): push | %.0f observations/s |
| with %d stored: CopyFrom (into an empty table, as before) | %.0f observations/s |
| with %d stored: push ÷ CopyFrom | %.2f |
| with %d stored: push ÷ CopyFrom, relative to the empty database's (target ≥ 0.9) | %.2f |
| with %d stored: CPU per observation, push | %s |
`, r.Stored, r.LoadPerSec, r.StoredPushPerSec, r.Stored, r.StoredCopyPerSec, r.Stored, stored,
			r.Stored, stored/(r.PushPerSec/r.CopyPerSec), r.Stored, r.StoredPush)
	}
	return t + fmt.Sprintf(`| incremental pull with nothing new, p50 (p99) over %d pulls | %s (%s) |
| initial pull of %d records, pages of %d | %s |
| caller's scope from the token (verify + claims), p50 over %d | %s |
| caller's scope from the roster (verify + resolve to the staff record), p50 | %s (+%s) |
| a whole WhoAmI call through gRPC (scope from the roster), p50 | %s |
| resolving alone: network issuer's identity, p50 | %s |
| resolving alone: a district provider's identity (its trust checked too), p50 | %s |
`, cfg.IncrementalRuns, r.IncrementalP50.Round(10*time.Microsecond), r.IncrementalP99.Round(10*time.Microsecond),
		r.InitialPullRecords, cfg.PullPage, r.InitialPull.Round(time.Millisecond),
		r.ScopeRuns, r.ScopeTokenP50.Round(time.Microsecond), r.ScopeRosterP50.Round(time.Microsecond),
		(r.ScopeRosterP50-r.ScopeTokenP50).Round(time.Microsecond), r.WhoAmIP50.Round(time.Microsecond),
		r.ResolveNetworkP50.Round(time.Microsecond), r.ResolveDistrictP50.Round(time.Microsecond))
}
