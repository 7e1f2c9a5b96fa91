// Package seedgen generates a deterministic plan of realistic, submitted observations over one
// school year of a roster, and bulk-loads any range of it with store.CopyObservations. It is the
// generator behind `lookfor seed --observations N` and the progress figures of `lookfor bench`.
//
// A plan generates the i-th observation from (seed, i) alone: school days from the year's first
// day up to yesterday, scores that improve over the year, a leniency per observer, about 10%
// calibration pairs (two observers of the same lesson sharing a co_observation key),
// participation counts by student group.
//
// It is a development tool: it may import any lookfor package; only cmd/, other development
// tools and tests import it.
package seedgen

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
)

// CalibrationEvery: of every CalibrationEvery observations, the last two are a calibration
// pair, so about 2/CalibrationEvery of them (10%) are calibration co-observations.
const CalibrationEvery = 20

// observer is a recording member of staff and how leniently they score.
type observer struct {
	p        observation.Principal
	leniency float64
}

type plannedDistrict struct {
	groups []observation.StudentGroup
	admin  *observer
	dayCum []float64 // cumulative weights of Plan.days for this district
	offset time.Duration
}

// plannedRoom is a classroom with the people who observe it.
type plannedRoom struct {
	classroom   observation.Classroom
	district    *plannedDistrict
	coaches     []*observer
	principal   *observer // nil when the site has none
	observerSet []*observer
}

// Plan generates the i-th observation from (seed, i) alone, so any worker can generate any
// range and ids are reproducible.
type Plan struct {
	seed              int64
	n                 int
	rubric            observation.RubricVersion
	yearStart         time.Time
	FirstDay, LastDay time.Time // the first and last school day observations fall on
	days              []time.Time
	rooms             []plannedRoom
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

// New plans n observations of the classrooms of net that have at least two possible observers
// (coaches or the principal of the site, the district admin), on the school days from yearStart
// up to the day before now (at most ten and a half months), with the rubric version rv.
func New(net demo.Roster, rv observation.RubricVersion, seed int64, n int, yearStart, now time.Time) (*Plan, error) {
	p := &Plan{seed: seed, n: n, rubric: rv, yearStart: yearStart, now: now}
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
	p.FirstDay, p.LastDay = p.days[0], p.days[len(p.days)-1]

	districts := map[string]*plannedDistrict{}
	for _, d := range net.Districts {
		sd := &plannedDistrict{groups: d.Settings.StudentGroups,
			offset: time.Duration(5+hash64(seed, "utc-offset", d.ID)%4) * time.Hour} // US time zones
		var cum float64
		for _, day := range p.days {
			cum += dayWeight(day, yearStart, d.Settings.Windows)
			sd.dayCum = append(sd.dayCum, cum)
		}
		districts[d.ID] = sd
	}
	leniency := func(s roster.Staff) float64 {
		r := rand.New(rand.NewPCG(hash64(seed, "leniency", s.DistrictID, s.ID), 1))
		bias := 0.0
		if s.Role == roster.StaffPrincipal {
			bias = 0.15 // principals tend to score higher than coaches
		}
		return math.Max(-0.6, math.Min(0.6, bias+0.22*r.NormFloat64()))
	}
	coaches := map[string][]*observer{}
	principals := map[string]*observer{}
	for _, s := range net.Staff {
		var role observation.Role
		switch s.Role {
		case roster.StaffCoach:
			role = observation.RoleCoach
		case roster.StaffPrincipal:
			role = observation.RolePrincipal
		case roster.StaffDistrictAdmin:
			role = observation.RoleDistrictAdmin
		default:
			continue
		}
		o := &observer{p: observation.Principal{UserID: s.ID, Role: role, DistrictID: s.DistrictID,
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
		room := plannedRoom{classroom: c, district: districts[c.DistrictID], coaches: coaches[key], principal: principals[key]}
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
func (p *Plan) lesson(rng *rand.Rand) (*plannedRoom, time.Time) {
	room := &p.rooms[pickCum(rng, p.roomCum)]
	day := p.days[pickCum(rng, room.district.dayCum)]
	// 8:00 to 14:25 local time in 5-minute steps, with seconds so lessons rarely share a start.
	local := 8*time.Hour + time.Duration(rng.IntN(78))*5*time.Minute + time.Duration(rng.IntN(60))*time.Second
	return room, day.Add(room.district.offset + local)
}

// observation generates observation i: solo visits by a coach (most), the principal or the
// district admin; the last two of every CalibrationEvery are one lesson co-observed by a coach
// and a second observer.
func (p *Plan) Observation(i int) observation.StoredObservation {
	block, j := i/CalibrationEvery, i%CalibrationEvery
	pair := j >= CalibrationEvery-2 && (block+1)*CalibrationEvery <= p.n
	var room *plannedRoom
	var when time.Time
	var obs *observer
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
		if j == CalibrationEvery-1 {
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

// SchoolDays is the number of school days the observations fall on.
func (p *Plan) SchoolDays() int { return len(p.days) }

// LoadOptions say which observations Load copies and how.
type LoadOptions struct {
	Batch        int       // observations per CopyObservations call (store.CopyBatchSize when 0)
	From, To     int       // the range of indexes [From, To) to load; To 0 means N
	SkipExisting bool      // leave out observations already stored (same seed and index)
	Progress     io.Writer // a progress line every two seconds; nil: none
	Label        string    // the progress lines' prefix ("seed" when empty)
}

// LoadSummary counts what Load did.
type LoadSummary struct {
	Written, Skipped, Calibration int64
	Elapsed                       time.Duration
}

// Load generates the observations From to To on every core and copies them in batches: the
// producers (one per core) each build a whole batch, and one store.Loader copies them all in one
// transaction: either every observation of the range is stored, with its aggregates, or none is.
func (p *Plan) Load(ctx context.Context, st *store.Store, o LoadOptions) (LoadSummary, error) {
	if o.Batch <= 0 {
		o.Batch = store.CopyBatchSize
	}
	if o.To == 0 {
		o.To = p.n
	}
	if o.From < 0 || o.To > p.n || o.From > o.To {
		return LoadSummary{}, fmt.Errorf("seedgen: range [%d, %d) is outside the plan's %d observations", o.From, o.To, p.n)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Label == "" {
		o.Label = "seed"
	}
	total := o.To - o.From
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) { cancel(err) }

	batches := (total + o.Batch - 1) / o.Batch
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
				lo, hi := o.From+b*o.Batch, min(o.From+(b+1)*o.Batch, o.To)
				rows := make([]observation.StoredObservation, 0, hi-lo)
				for i := lo; i < hi; i++ {
					rows = append(rows, p.Observation(i))
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

	// One loader copies every batch in one transaction (its aggregates written once, at the end).
	var copying gosync.WaitGroup
	loader, err := st.BeginLoad(ctx)
	if err != nil {
		fail(err)
	}
	var copied atomic.Int64
	copying.Add(1)
	go func() {
		defer copying.Done()
		var cal int64
		for rows := range ready {
			if ctx.Err() != nil {
				continue // drain
			}
			if o.SkipExisting {
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
			n, err := loader.Copy(ctx, rows)
			if err != nil {
				fail(fmt.Errorf("copying observations: %w", err))
				continue
			}
			for i := range rows {
				if rows[i].Kind == observation.KindCalibration {
					cal++
				}
			}
			copied.Add(n)
		}
		if loader == nil {
			return
		}
		if ctx.Err() != nil {
			loader.Rollback(context.WithoutCancel(ctx))
			return
		}
		n, err := loader.Commit(ctx)
		if err != nil {
			fail(fmt.Errorf("committing the observations: %w", err))
			return
		}
		written.Store(n)
		calibration.Store(cal)
	}()

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
				n := copied.Load() + skipped.Load()
				el := time.Since(start)
				fmt.Fprintf(o.Progress, "%s: %d/%d observations (%.0f%%) in %s, %.0f rows/s\n",
					o.Label, n, total, 100*float64(n)/float64(total), el.Round(time.Second), float64(n)/el.Seconds())
			}
		}
	}()
	copying.Wait()
	close(done)
	reporter.Wait()

	sum := LoadSummary{Written: written.Load(), Skipped: skipped.Load(), Calibration: calibration.Load(), Elapsed: time.Since(start)}
	if err := context.Cause(ctx); err != nil {
		return sum, err
	}
	return sum, nil
}
