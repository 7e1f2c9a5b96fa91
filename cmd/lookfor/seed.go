package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

// seedFlags size the network and the observations `lookfor seed` loads.
type seedFlags struct {
	districts, sitesPerDistrict, classroomsPerSite int
	observations                                   int
	seed                                           int64
	schoolYearStart                                string
	appendObs                                      bool
	batchSize                                      int
}

// maxSeedObservations bounds --observations (about 3 GB of content per 1M rows beyond that).
const maxSeedObservations = 50_000_000

func seedCmd(g *globals) *cobra.Command {
	f := &seedFlags{}
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Load the network's default rubric and a demo network (3 districts, 12 sites, 150 classrooms), or a generated network with synthetic observations",
		Long: "seed is idempotent: it upserts the demo roster and publishes the default K-8 Academic " +
			"Discourse rubric as the network rubric, version 1, unless that rubric exists already.\n\n" +
			"With --districts it loads a generated network of that size instead (--sites-per-district × " +
			"--classrooms-per-site, one teacher per classroom, a principal per site, coaches for two or three sites " +
			"each, a district admin); the network, its names and its ids follow from --seed, and its district ids " +
			"end in the seed (\"cedarbrook-usd-s1\"), so networks of different seeds live side by side.\n\n" +
			"With --observations it also bulk-loads that many synthetic, submitted observations (revision 1) " +
			"into the network through COPY: school days from --school-year-start up to yesterday, scores that " +
			"improve over the year, a leniency per observer, about 10% calibration pairs (two observers of the " +
			"same lesson sharing a co_observation key), participation counts by student group. Observation ids " +
			"follow from --seed and each observation's index, so a second run with the same flags would store " +
			"the same observations again: seed refuses to load observations into a district that already has " +
			"some unless --append is given, and with --append it skips every observation already stored (same " +
			"--seed and index) and loads only the new ones — for example the indexes above an earlier, smaller " +
			"--observations, or all of a different --seed.",
		Example: `  lookfor seed                                   # the demo network and the default rubric
  lookfor seed --observations 20000              # ... and 20,000 observations in it
  lookfor seed --districts 10 --sites-per-district 30 --classrooms-per-site 25 --observations 1000000
  lookfor seed --districts 10 --observations 2000000 --append   # add the indexes 1,000,000 and up`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			if err := g.requireDB(); err != nil {
				return err
			}
			yearStart, err := f.yearStart(time.Now())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, g.databaseURL, store.Options{MaxConns: 3})
			if err != nil {
				return err
			}
			defer st.Close()
			net := demo.Network()
			if f.districts > 0 {
				if net, err = demo.Scale(demo.ScaleConfig{Districts: f.districts, SitesPerDistrict: f.sitesPerDistrict,
					ClassroomsPerSite: f.classroomsPerSite, Seed: f.seed}); err != nil {
					return err
				}
			}
			if f.observations > 0 && !f.appendObs {
				if err := refuseReseed(ctx, st, net, f.observations); err != nil {
					return err
				}
			}
			if err := seedRoster(ctx, st, net); err != nil {
				return err
			}
			d, s, c, p, err := st.RosterCounts(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "seeded: %d districts, %d sites, %d classrooms, %d staff; rubric %s\n",
				d, s, c, p, observation.DefaultRubricID)
			if f.observations == 0 {
				return nil
			}
			rv, err := st.GetRubricVersion(ctx, observation.DefaultRubricID, 1)
			if err != nil {
				return fmt.Errorf("reading the default rubric: %w", err)
			}
			plan, err := newSeedPlan(net, rv, f.seed, f.observations, yearStart, time.Now().UTC())
			if err != nil {
				return err
			}
			sum, err := plan.load(ctx, st, loadOptions{batch: f.batchSize, skipExisting: f.appendObs, progress: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			rate := float64(sum.written+sum.skipped) / sum.elapsed.Seconds()
			fmt.Fprintf(out, "observations: %d loaded (%d in calibration pairs), %d already stored skipped, in %s (%.0f rows/s); school days %s to %s\n",
				sum.written, sum.calibration, sum.skipped, sum.elapsed.Round(10*time.Millisecond), rate,
				plan.firstDay.Format(time.DateOnly), plan.lastDay.Format(time.DateOnly))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.districts, "districts", 0, "generate a network of this many districts instead of the demo network")
	fl.IntVar(&f.sitesPerDistrict, "sites-per-district", 30, "sites per generated district (with --districts)")
	fl.IntVar(&f.classroomsPerSite, "classrooms-per-site", 25, "classrooms per generated site (with --districts)")
	fl.IntVar(&f.observations, "observations", 0, "synthetic observations to load, in total (0: none)")
	fl.Int64Var(&f.seed, "seed", 1, "random seed of the generated network and observations")
	fl.StringVar(&f.schoolYearStart, "school-year-start", "",
		"first day of the school year the observations fall in, YYYY-MM-DD (default: 1 August of the current school year)")
	fl.BoolVar(&f.appendObs, "append", false,
		"load observations into districts that already have some, skipping those already stored")
	fl.IntVar(&f.batchSize, "batch-size", store.CopyBatchSize, "observations per COPY")
	_ = fl.MarkHidden("batch-size")
	return cmd
}

func (f *seedFlags) check(cmd *cobra.Command) error {
	if f.districts < 0 {
		return fmt.Errorf("--districts must not be negative")
	}
	if f.districts == 0 {
		for _, name := range []string{"sites-per-district", "classrooms-per-site"} {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s needs --districts (without it seed loads the fixed demo network)", name)
			}
		}
	} else if err := (demo.ScaleConfig{Districts: f.districts, SitesPerDistrict: f.sitesPerDistrict,
		ClassroomsPerSite: f.classroomsPerSite}).Validate(); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "demo: "))
	}
	if f.observations < 0 || f.observations > maxSeedObservations {
		return fmt.Errorf("--observations must be 0 to %d, got %d", maxSeedObservations, f.observations)
	}
	if f.batchSize < 1 {
		return fmt.Errorf("--batch-size must be at least 1")
	}
	return nil
}

// yearStart is --school-year-start, or 1 August on or before now (UTC).
func (f *seedFlags) yearStart(now time.Time) (time.Time, error) {
	now = now.UTC()
	if f.schoolYearStart == "" {
		y := now.Year()
		if now.Month() < time.August {
			y--
		}
		return time.Date(y, time.August, 1, 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse(time.DateOnly, f.schoolYearStart)
	if err != nil {
		return t, fmt.Errorf("--school-year-start %q: want a date like 2025-08-01", f.schoolYearStart)
	}
	if t.After(now) {
		return t, fmt.Errorf("--school-year-start %s is in the future", f.schoolYearStart)
	}
	return t, nil
}

// seedRoster loads the default rubric and the roster; running it twice changes nothing.
func seedRoster(ctx context.Context, st *store.Store, n demo.Roster) error {
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		return fmt.Errorf("seeding the default rubric: %w", err)
	}
	return st.UpsertRoster(ctx, store.Roster{Districts: n.Districts, Sites: n.Sites, Classrooms: n.Classrooms, Staff: n.Staff})
}

// refuseReseed fails when a district of the network has observations already: loading again
// would add to them, and the same seed gives the same ids.
func refuseReseed(ctx context.Context, st *store.Store, net demo.Roster, n int) error {
	ids := make([]string, len(net.Districts))
	for i, d := range net.Districts {
		ids[i] = d.ID
	}
	counts, err := st.ObservationCounts(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if c := counts[id]; c > 0 {
			return fmt.Errorf("district %s already has %d observations; seed does not load %d more on top of them unless "+
				"--append is given (which skips the observations already stored: same --seed and index)", id, c, n)
		}
	}
	return nil
}

// --- the observation generator ---------------------------------------------------------------

// calibrationEvery: of every calibrationEvery observations, the last two are a calibration
// pair, so about 2/calibrationEvery of them (10%) are calibration co-observations.
const calibrationEvery = 20

// seedObserver is a recording member of staff and how leniently they score.
type seedObserver struct {
	p        observation.Principal
	leniency float64
}

type seedDistrict struct {
	groups []observation.StudentGroup
	admin  *seedObserver
	dayCum []float64 // cumulative weights of seedPlan.days for this district
	offset time.Duration
}

// seedRoom is a classroom with the people who observe it.
type seedRoom struct {
	classroom   observation.Classroom
	district    *seedDistrict
	coaches     []*seedObserver
	principal   *seedObserver // nil when the site has none
	observerSet []*seedObserver
}

// seedPlan generates the i-th observation from (seed, i) alone, so any worker can generate any
// range and ids are reproducible.
type seedPlan struct {
	seed              int64
	n                 int
	rubric            observation.RubricVersion
	yearStart         time.Time
	firstDay, lastDay time.Time
	days              []time.Time
	rooms             []seedRoom
	roomCum           []float64
	now               time.Time
}

// hash64 is a stable 64-bit hash of the seed and parts.
func hash64(seed int64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(uint64(seed) >> (8 * i))
	}
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return h.Sum64()
}

func newSeedPlan(net demo.Roster, rv observation.RubricVersion, seed int64, n int, yearStart, now time.Time) (*seedPlan, error) {
	p := &seedPlan{seed: seed, n: n, rubric: rv, yearStart: yearStart, now: now}
	// School days: weekdays from the first day of the year up to yesterday (at most ten and a half
	// months), without the winter break and Thanksgiving.
	last := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	if end := yearStart.AddDate(0, 10, 14); end.Before(last) {
		last = end
	}
	for d := yearStart; !d.After(last); d = d.AddDate(0, 0, 1) {
		if schoolDay(d) {
			p.days = append(p.days, d)
		}
	}
	if len(p.days) == 0 {
		return nil, fmt.Errorf("no school days between %s and yesterday: pick an earlier --school-year-start", yearStart.Format(time.DateOnly))
	}
	p.firstDay, p.lastDay = p.days[0], p.days[len(p.days)-1]

	districts := map[string]*seedDistrict{}
	for _, d := range net.Districts {
		sd := &seedDistrict{groups: d.Settings.StudentGroups,
			offset: time.Duration(5+hash64(seed, "utc-offset", d.ID)%4) * time.Hour} // US time zones
		var cum float64
		for _, day := range p.days {
			cum += dayWeight(day, yearStart, d.Settings.Windows)
			sd.dayCum = append(sd.dayCum, cum)
		}
		districts[d.ID] = sd
	}
	leniency := func(s observation.Staff) float64 {
		r := rand.New(rand.NewPCG(hash64(seed, "leniency", s.DistrictID, s.ID), 1))
		bias := 0.0
		if s.Role == observation.StaffPrincipal {
			bias = 0.15 // principals tend to score higher than coaches
		}
		return math.Max(-0.6, math.Min(0.6, bias+0.22*r.NormFloat64()))
	}
	coaches := map[string][]*seedObserver{}
	principals := map[string]*seedObserver{}
	for _, s := range net.Staff {
		var role observation.Role
		switch s.Role {
		case observation.StaffCoach:
			role = observation.RoleCoach
		case observation.StaffPrincipal:
			role = observation.RolePrincipal
		case observation.StaffDistrictAdmin:
			role = observation.RoleDistrictAdmin
		default:
			continue
		}
		o := &seedObserver{p: observation.Principal{UserID: s.ID, Role: role, DistrictID: s.DistrictID,
			SiteIDs: append([]string(nil), s.SiteIDs...)}, leniency: leniency(s)}
		switch role {
		case observation.RoleDistrictAdmin:
			if d := districts[s.DistrictID]; d != nil && d.admin == nil {
				d.admin = o
			}
		case observation.RolePrincipal:
			for _, site := range s.SiteIDs {
				principals[s.DistrictID+"\x00"+site] = o
			}
		default:
			for _, site := range s.SiteIDs {
				coaches[s.DistrictID+"\x00"+site] = append(coaches[s.DistrictID+"\x00"+site], o)
			}
		}
	}
	var cum float64
	for _, c := range net.Classrooms {
		key := c.DistrictID + "\x00" + c.SiteID
		room := seedRoom{classroom: c, district: districts[c.DistrictID], coaches: coaches[key], principal: principals[key]}
		if room.district == nil {
			return nil, fmt.Errorf("classroom %s: district %s is not in the network", c.ID, c.DistrictID)
		}
		room.observerSet = append(room.observerSet, room.coaches...)
		if room.principal != nil {
			room.observerSet = append(room.observerSet, room.principal)
		}
		if room.district.admin != nil {
			room.observerSet = append(room.observerSet, room.district.admin)
		}
		if len(room.observerSet) < 2 {
			continue // nobody (or one person) to observe it: never picked
		}
		p.rooms = append(p.rooms, room)
		// Some classrooms are visited more than others (coaching cycles, new teachers).
		u := float64(hash64(seed, "room", c.DistrictID, c.ID)>>11) / (1 << 53)
		cum += 0.4 + 1.2*u
		p.roomCum = append(p.roomCum, cum)
	}
	if len(p.rooms) == 0 {
		return nil, fmt.Errorf("the network has no classroom with two observers (a coach or principal of its site, or a district admin)")
	}
	return p, nil
}

// schoolDay: a weekday outside the winter break (21 December to 1 January) and Thanksgiving
// (the fourth Thursday of November and the Friday after).
func schoolDay(d time.Time) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	m, day := d.Month(), d.Day()
	if (m == time.December && day >= 21) || (m == time.January && day == 1) {
		return false
	}
	if m == time.November && (d.Weekday() == time.Thursday || d.Weekday() == time.Friday) {
		thursday := d
		if d.Weekday() == time.Friday {
			thursday = d.AddDate(0, 0, -1)
		}
		if thursday.Month() == time.November && (thursday.Day()-1)/7 == 3 {
			return false
		}
	}
	return true
}

// dayWeight: few observations in the first two weeks, more during the district's windows.
func dayWeight(d, yearStart time.Time, windows []observation.NamedWindow) float64 {
	if d.Sub(yearStart) < 14*24*time.Hour {
		return 0.3
	}
	md := int(d.Month())*100 + d.Day()
	for _, w := range windows {
		from, to := w.StartMonth*100+w.StartDay, w.EndMonth*100+w.EndDay
		if (from <= to && md >= from && md <= to) || (from > to && (md >= from || md <= to)) {
			return 1.6
		}
	}
	return 1
}

func pickCum(rng *rand.Rand, cum []float64) int {
	return min(sort.SearchFloat64s(cum, rng.Float64()*cum[len(cum)-1]), len(cum)-1)
}

// lesson picks the classroom and start time of a lesson.
func (p *seedPlan) lesson(rng *rand.Rand) (*seedRoom, time.Time) {
	room := &p.rooms[pickCum(rng, p.roomCum)]
	day := p.days[pickCum(rng, room.district.dayCum)]
	// 8:00 to 14:25 local time in 5-minute steps, with seconds so lessons rarely share a start.
	local := 8*time.Hour + time.Duration(rng.IntN(78))*5*time.Minute + time.Duration(rng.IntN(60))*time.Second
	return room, day.Add(room.district.offset + local)
}

// observation generates observation i: solo visits by a coach (most), the principal or the
// district admin; the last two of every calibrationEvery are one lesson co-observed by a coach
// and a second observer.
func (p *seedPlan) observation(i int) observation.StoredObservation {
	block, j := i/calibrationEvery, i%calibrationEvery
	pair := j >= calibrationEvery-2 && (block+1)*calibrationEvery <= p.n
	var room *seedRoom
	var when time.Time
	var obs *seedObserver
	in := synth.Input{Rubric: p.rubric, SchoolYearStart: p.yearStart}
	if pair {
		rng := rand.New(rand.NewPCG(uint64(p.seed), uint64(block)|1<<63))
		room, when = p.lesson(rng)
		a := 0 // a coach leads the calibration (observerSet lists the coaches first)
		if len(room.coaches) > 0 {
			a = rng.IntN(len(room.coaches))
		}
		b := rng.IntN(len(room.observerSet) - 1) // anyone else: another coach, the principal, the district admin
		if b >= a {
			b++
		}
		obs = room.observerSet[a]
		if j == calibrationEvery-1 {
			obs = room.observerSet[b]
		}
		in.Kind = observation.KindCalibration
	} else {
		rng := rand.New(rand.NewPCG(uint64(p.seed), uint64(i)))
		room, when = p.lesson(rng)
		switch x := rng.Float64(); {
		case x < 0.03 && room.district.admin != nil:
			obs = room.district.admin
		case (x < 0.30 || len(room.coaches) == 0) && room.principal != nil:
			obs = room.principal
		case len(room.coaches) > 0:
			obs = room.coaches[rng.IntN(len(room.coaches))]
		default:
			obs = room.observerSet[0]
		}
	}
	in.Classroom, in.When, in.StudentGroups = room.classroom, when, room.district.groups
	in.Observer, in.Leniency = obs.p, obs.leniency
	g := synth.New(int64(hash64(p.seed, "record", strconv.Itoa(i))))
	r := g.Record(in)
	content, hash := r.Canonical()
	// The tablet syncs shortly after the lesson, mostly within hours.
	delay := rand.New(rand.NewPCG(uint64(p.seed)^0x636f6d6d6974, uint64(i))).ExpFloat64() * float64(2*time.Hour)
	committed := r.RecordedAt.Add(time.Duration(delay))
	if committed.After(p.now) {
		committed = p.now
	}
	return observation.StoredObservation{Record: r, Revision: 1, ContentHash: hash, UpdatedBy: r.ObserverID,
		CommittedAt: committed.Truncate(time.Microsecond), Content: content}
}

type loadOptions struct {
	batch        int
	skipExisting bool
	progress     io.Writer
}

type loadSummary struct {
	written, skipped, calibration int64
	elapsed                       time.Duration
}

// load generates the observations on every core and copies them in batches: the producers
// (one per core) each build a whole batch, at most two COPYs run at a time.
func (p *seedPlan) load(ctx context.Context, st *store.Store, o loadOptions) (loadSummary, error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) { cancel(err) }

	batches := (p.n + o.batch - 1) / o.batch
	var next atomic.Int64
	ready := make(chan []observation.StoredObservation, 1)
	var written, skipped, calibration atomic.Int64

	var producers gosync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		producers.Add(1)
		go func() {
			defer producers.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= batches || ctx.Err() != nil {
					return
				}
				lo, hi := b*o.batch, min((b+1)*o.batch, p.n)
				rows := make([]observation.StoredObservation, 0, hi-lo)
				for i := lo; i < hi; i++ {
					rows = append(rows, p.observation(i))
				}
				select {
				case ready <- rows:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { producers.Wait(); close(ready) }()

	const copiers = 2
	var copying gosync.WaitGroup
	for range copiers {
		copying.Add(1)
		go func() {
			defer copying.Done()
			for rows := range ready {
				if ctx.Err() != nil {
					continue // drain
				}
				if o.skipExisting {
					ids := make([]string, len(rows))
					for i := range rows {
						ids[i] = rows[i].ID
					}
					have, err := st.ExistingObservations(ctx, ids)
					if err != nil {
						fail(err)
						continue
					}
					kept := rows[:0]
					for _, r := range rows {
						if !have[r.ID] {
							kept = append(kept, r)
						}
					}
					skipped.Add(int64(len(rows) - len(kept)))
					rows = kept
				}
				n, err := st.CopyObservations(ctx, rows)
				if err != nil {
					fail(fmt.Errorf("copying observations: %w", err))
					continue
				}
				var cal int64
				for i := range rows {
					if rows[i].Kind == observation.KindCalibration {
						cal++
					}
				}
				written.Add(n)
				calibration.Add(cal)
			}
		}()
	}

	done := make(chan struct{})
	var reporter gosync.WaitGroup
	reporter.Add(1)
	go func() {
		defer reporter.Done()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				n := written.Load() + skipped.Load()
				el := time.Since(start)
				fmt.Fprintf(o.progress, "seed: %d/%d observations (%.0f%%) in %s, %.0f rows/s\n",
					n, p.n, 100*float64(n)/float64(p.n), el.Round(time.Second), float64(n)/el.Seconds())
			}
		}
	}()
	copying.Wait()
	close(done)
	reporter.Wait()

	sum := loadSummary{written: written.Load(), skipped: skipped.Load(), calibration: calibration.Load(), elapsed: time.Since(start)}
	if err := context.Cause(ctx); err != nil {
		return sum, err
	}
	return sum, nil
}
