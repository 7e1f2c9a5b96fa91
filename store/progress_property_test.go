package store_test

// The progress property test: random histories of tablet writes go through the real sync
// service into PostgreSQL — submits, drafts, amendments (some on stale revisions, so conflicts),
// deletions, co-observed calibration lessons, late arrivals from offline tablets into past
// periods, conflict resolutions, a settings change that moves the district's windows — and after
// every few steps every progress view read from the maintained aggregates must equal the same
// view computed from a recomputation over the raw observation rows.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/progressref"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// recomputedStore serves the progress views' aggregate rows from a recomputation over the raw
// observations; everything else (rosters, settings, rubrics, goals) comes from the database.
type recomputedStore struct {
	*store.Store
	d *progress.Delta
}

// ProgressCells answers every query, q.BySite too, with the recomputed cells of classrooms: the
// views the store answers from its site rows must equal the views built from the cells.
func (r recomputedStore) ProgressCells(_ context.Context, q progress.CellQuery) ([]progress.CellRow, error) {
	var out []progress.CellRow
	for k, m := range r.d.Cells {
		if slices.Contains(q.DistrictIDs, k.DistrictID) && k.RubricID == q.RubricID && k.Kind == q.Kind &&
			slices.Contains(q.Keys, k.PeriodKey) && (q.Sites == nil || slices.Contains(q.Sites, k.SiteID)) {
			out = append(out, progress.CellRow{CellKey: k, M: m})
		}
	}
	return out, nil
}

// ProgressDistrictRows serves the recomputed rows whole, with no versions (nothing is reused).
func (r recomputedStore) ProgressDistrictRows(ctx context.Context, q progress.CellQuery, _ []progress.DistrictVersion) ([]progress.CellRow, []progress.DistrictVersion, error) {
	rows, err := r.ProgressCells(ctx, q)
	return rows, nil, err
}

func (r recomputedStore) ProgressPairs(_ context.Context, q progress.CellQuery) ([]progress.PairRow, error) {
	var out []progress.PairRow
	for k, m := range r.d.Pairs {
		if slices.Contains(q.DistrictIDs, k.DistrictID) && k.RubricID == q.RubricID && k.Kind == q.Kind &&
			slices.Contains(q.Keys, k.PeriodKey) && (q.Sites == nil || slices.Contains(q.Sites, k.SiteID)) {
			out = append(out, progress.PairRow{PairKey: k, M: m})
		}
	}
	return out, nil
}

func (r recomputedStore) LastVisits(_ context.Context, district, rubric string, rooms []string, before time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for k, m := range r.d.Cells {
		day, err := time.Parse(time.DateOnly, k.PeriodKey)
		if k.Kind != progress.PeriodDaily || err != nil || k.DistrictID != district || k.RubricID != rubric || m.Observations() <= 0 ||
			!slices.Contains(rooms, k.ClassroomID) || !day.Before(before) {
			continue
		}
		if cur, ok := out[k.ClassroomID]; !ok || day.After(cur) {
			out[k.ClassroomID] = day
		}
	}
	return out, nil
}

// tablet is one device's view of the records it wrote: the server revision it last saw.
type tablet struct {
	p        observation.Principal
	device   string
	seq      int64
	known    map[string]observation.Record
	revision map[string]int
}

func TestProgressViewsMatchRecomputation(t *testing.T) {
	events := map[string]int{}
	for seed := range int64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { progressHistory(t, seed, events) })
	}
	// What the histories did to co-observation groups, over all seeds: the group's counting
	// member (its first-submitted record) must have been deleted, amended, replaced by a conflict
	// resolution, and replaced by a partner; partners must have arrived after the first and
	// counted only in calibration; a group must have spanned periods.
	t.Logf("co-observation events: %v", events)
	for _, k := range []string{"counting member deleted", "counting member amended", "counting member's conflict resolved",
		"counting member changed", "late member", "group spanning months"} {
		if events[k] == 0 {
			t.Errorf("the histories had no %s", k)
		}
	}
}

// countingMembers returns, per co-observation key with a counted member, the id of the member
// submitted first (equal times: the smaller id), and the months its counted members span.
func countingMembers(obs []observation.StoredObservation) (map[string]string, map[string]map[string]bool) {
	first, months := map[string]string{}, map[string]map[string]bool{}
	at := map[string]observation.StoredObservation{}
	for _, o := range obs {
		if o.CoObservation == "" || !progress.Counted(o) {
			continue
		}
		if months[o.CoObservation] == nil {
			months[o.CoObservation] = map[string]bool{}
		}
		months[o.CoObservation][o.StartedAt.UTC().Format("2006-01")] = true
		cur, ok := at[o.CoObservation]
		if !ok || o.SubmittedAt.Before(cur.SubmittedAt) || (o.SubmittedAt.Equal(cur.SubmittedAt) && o.ID < cur.ID) {
			at[o.CoObservation], first[o.CoObservation] = o, o.ID
		}
	}
	return first, months
}

func progressHistory(t *testing.T, seed int64, events map[string]int) {
	ctx := context.Background()
	st := pgtest.NewStore(t)
	net := demo.Network()
	mustNoErr(t, st.UpsertRoster(ctx, store.Roster(net)))
	clockNow := time.Date(2026, 3, 16, 18, 0, 0, 0, time.UTC)
	// The server clock: the same for a whole push (its records tie on their submission time, and
	// the smaller id comes first), a few minutes on for the next.
	serverNow := clockNow
	clock := func() time.Time { return serverNow }
	v1 := observation.DefaultRubricVersion(clockNow.AddDate(-3, 0, 0))
	_, err := st.EnsurePublishedRubric(ctx, v1)
	mustNoErr(t, err)
	admin := observation.Principal{UserID: "admin-1", Role: observation.RoleAdmin}
	rubrics := &observation.Rubrics{Store: st, Now: clock}
	// Version 2 changes what "substance" means: trends must not compare it with version 1.
	c2 := v1.Content
	c2.Dimensions = slices.Clone(v1.Content.Dimensions)
	c2.Dimensions[0].NotComparable = true
	_, err = rubrics.CreateDraft(ctx, admin, v1.RubricID, &c2)
	mustNoErr(t, err)
	v2, err := rubrics.Publish(ctx, admin, v1.RubricID, 2)
	mustNoErr(t, err)
	versions := []observation.RubricVersion{v1, v2}

	district := net.Districts[0]
	var rooms []observation.Classroom
	for _, c := range net.Classrooms {
		if c.DistrictID == district.ID {
			rooms = append(rooms, c)
		}
	}
	var tablets []*tablet
	svc := &sync.Service{Store: st, Now: clock}
	for _, s := range net.Staff {
		if s.DistrictID == district.ID && (s.Role == roster.StaffCoach || (s.Role == roster.StaffPrincipal && len(tablets) < 3)) {
			role := observation.RoleCoach
			if s.Role == roster.StaffPrincipal {
				role = observation.RolePrincipal
			}
			p := observation.Principal{UserID: s.ID, Role: role, DistrictID: district.ID, SiteIDs: s.SiteIDs}
			dev := uuid.Must(uuid.NewV7()).String()
			_, err := svc.RegisterDevice(ctx, p, dev, "test", 1)
			mustNoErr(t, err)
			tablets = append(tablets, &tablet{p: p, device: dev, seq: 1, known: map[string]observation.Record{}, revision: map[string]int{}})
		}
	}
	districtAdmin := observation.Principal{UserID: district.ID + ".district-admin", Role: observation.RoleDistrictAdmin, DistrictID: district.ID}
	records := &sync.Records{Store: st, Now: clock}
	rosters := &roster.Service{Store: st, Now: clock}
	prog := &progress.Service{Store: st, Now: clock}
	goalID := ""
	if _, err := prog.SaveGoal(ctx, districtAdmin, progress.Goal{DistrictID: district.ID, Title: "Press for reasoning",
		Dimension: "press", Measure: progress.GoalMeanLevel, Target: 3, TargetDate: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		false, func() string { goalID = uuid.NewString(); return goalID }); err != nil {
		t.Fatalf("goal: %v", err)
	}

	// What the history exercised: each kind of write must happen, or the test proves little.
	counts := map[string]int{}
	resolved := 0
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	g := synth.New(seed)
	groupOf := map[string]observation.Record{} // co-observation key → first record
	var coKeys []string
	for step := range 24 {
		serverNow = serverNow.Add(time.Duration(1+rng.IntN(5)) * time.Minute)
		storedBefore := storedObservations(t, st)
		firstBefore, _ := countingMembers(storedBefore)
		isFirst, members := map[string]bool{}, map[string]int{}
		for _, id := range firstBefore {
			isFirst[id] = true
		}
		for _, o := range storedBefore {
			if progress.Counted(o) && o.CoObservation != "" {
				members[o.CoObservation]++
			}
		}
		tb := tablets[rng.IntN(len(tablets))]
		var inScope []observation.Classroom
		for _, c := range rooms {
			if slices.Contains(tb.p.SiteIDs, c.SiteID) {
				inScope = append(inScope, c)
			}
		}
		var changes []sync.Change
		used := map[string]bool{}
		for range 2 + rng.IntN(8) {
			ids := make([]string, 0, len(tb.known))
			for id := range tb.known {
				if !used[id] {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			var firsts []string // the counting members of this tablet's groups, those with partners if any
			shared := false
			for _, withPartners := range []bool{true, false} {
				for _, id := range ids {
					if isFirst[id] && (!withPartners || members[tb.known[id].CoObservation] > 1) {
						firsts = append(firsts, id)
					}
				}
				if len(firsts) > 0 {
					shared = withPartners
					break
				}
			}
			op := rng.IntN(12)
			if shared && rng.IntN(3) == 0 {
				op = 10
			}
			if op >= 10 && len(firsts) == 0 {
				op = rng.IntN(10)
			}
			switch {
			case op < 5 || len(ids) == 0: // a new lesson, maybe recorded long ago offline
				when := clockNow.Add(-time.Duration(rng.IntN(24*500)) * time.Hour)
				in := synth.Input{Classroom: inScope[rng.IntN(len(inScope))], Observer: tb.p, Rubric: versions[rng.IntN(2)],
					StudentGroups: district.Settings.StudentGroups, When: when, Leniency: rng.Float64() - 0.5}
				if rng.IntN(3) == 0 {
					in.Kind = observation.KindCalibration
				}
				if rng.IntN(6) == 0 {
					in.Status = observation.RecordDraft
				}
				r := g.Record(in)
				var joinable []string // lessons of other observers at this tablet's sites
				for _, k := range coKeys {
					if first := groupOf[k]; slices.Contains(tb.p.SiteIDs, first.SiteID) && first.ObserverID != tb.p.UserID {
						joinable = append(joinable, k)
					}
				}
				if r.Kind == observation.KindCalibration && len(joinable) > 0 && rng.IntN(4) > 0 {
					first := groupOf[joinable[rng.IntN(len(joinable))]]
					{
						r.CoObservation, r.StartedAt, r.ClassroomID, r.SiteID, r.TeacherID, r.RubricVersion =
							first.CoObservation, first.StartedAt.Add(2*time.Minute), first.ClassroomID, first.SiteID, first.TeacherID, first.RubricVersion
						r.Course, r.Grade, r.Section = first.Course, first.Grade, first.Section
						if rng.IntN(4) == 0 { // the key on another day, maybe in another period: no pair
							r.StartedAt = r.StartedAt.Add(-time.Duration(1+rng.IntN(60)) * 24 * time.Hour)
						}
					}
				}
				if r.CoObservation != "" {
					if _, ok := groupOf[r.CoObservation]; !ok {
						groupOf[r.CoObservation] = r
						coKeys = append(coKeys, r.CoObservation)
					}
				}
				changes = append(changes, sync.Change{Seq: tb.seq, Op: sync.OpUpsert, Record: r, ObservationID: r.ID})
				used[r.ID] = true
			case op < 9: // an amendment: a corrected score, day, classroom or a submit of a draft
				id := ids[rng.IntN(len(ids))]
				r := tb.known[id]
				switch rng.IntN(4) {
				case 0:
					r.StartedAt = clockNow.Add(-time.Duration(rng.IntN(24*400)) * time.Hour)
				case 1:
					c := inScope[rng.IntN(len(inScope))]
					r.ClassroomID, r.SiteID, r.TeacherID, r.Course, r.Grade, r.Section = c.ID, c.SiteID, c.TeacherID, c.Course, c.Grade, c.Section
				case 2:
					r.Status = observation.RecordSubmitted
				default:
					r.Scores = slices.Clone(r.Scores)
					for i := range r.Scores {
						if rng.IntN(2) == 0 && !r.Scores[i].NotObserved {
							r.Scores[i].Level = 1 + rng.IntN(4)
						}
					}
				}
				base := tb.revision[id]
				if rng.IntN(3) == 0 && base > 1 {
					base-- // a tablet that missed a change: the amendment is a conflict
				}
				changes = append(changes, sync.Change{Seq: tb.seq, Op: sync.OpUpsert, Record: r, ObservationID: id, BaseRevision: base})
				used[id] = true
			case op >= 10: // the counting member of a group: deleted, or amended (maybe from a stale revision: a conflict)
				id := firsts[rng.IntN(len(firsts))]
				if rng.IntN(2) == 0 {
					changes = append(changes, sync.Change{Seq: tb.seq, Op: sync.OpDelete, ObservationID: id, BaseRevision: tb.revision[id]})
				} else {
					r := tb.known[id]
					r.Scores = slices.Clone(r.Scores)
					for i := range r.Scores {
						if !r.Scores[i].NotObserved {
							r.Scores[i].Level = 1 + rng.IntN(4)
						}
					}
					if rng.IntN(4) == 0 { // into another period, away from the lesson
						r.StartedAt = r.StartedAt.Add(-time.Duration(20+rng.IntN(40)) * 24 * time.Hour)
					}
					base := tb.revision[id]
					if rng.IntN(2) == 0 && base > 1 {
						base--
					}
					changes = append(changes, sync.Change{Seq: tb.seq, Op: sync.OpUpsert, Record: r, ObservationID: id, BaseRevision: base})
				}
				used[id] = true
			default: // a deletion
				id := ids[rng.IntN(len(ids))]
				changes = append(changes, sync.Change{Seq: tb.seq, Op: sync.OpDelete, ObservationID: id, BaseRevision: tb.revision[id]})
				used[id] = true
			}
			tb.seq++
		}
		resp, err := svc.Push(ctx, tb.p, sync.PushRequest{DeviceID: tb.device, Changes: changes, SchemaVersion: 1}, 0)
		mustNoErr(t, err)
		for i, res := range resp.Results {
			c := changes[i]
			if isFirst[c.ObservationID] && res.Status == sync.StatusApplied {
				if c.Op == sync.OpDelete {
					events["counting member deleted"]++
				} else {
					events["counting member amended"]++
				}
			}
			switch {
			case res.Status == sync.StatusApplied && c.Op == sync.OpDelete:
				counts["deletions"]++
			case res.Status == sync.StatusApplied && c.BaseRevision > 0:
				counts["amendments"]++
			case res.Status == sync.StatusApplied && c.Record.StartedAt.Before(time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)):
				counts["late arrivals into the previous school year"]++
			case res.Status == sync.StatusApplied && c.Record.CoObservation != "":
				counts["co-observed records"]++
			case res.Status == sync.StatusConflict:
				counts["conflicts"]++
			}
			switch res.Status {
			case sync.StatusApplied, sync.StatusDuplicate:
				if c.Op == sync.OpDelete {
					delete(tb.known, c.ObservationID)
				} else {
					tb.known[c.ObservationID] = c.Record
				}
				tb.revision[c.ObservationID] = res.Revision
			case sync.StatusConflict:
				if res.Server != nil {
					tb.known[c.ObservationID], tb.revision[c.ObservationID] = res.Server.Record, res.Server.Revision
				}
			case sync.StatusRejected:
				t.Logf("step %d: change %d rejected: %s %s %s", step, c.Seq, res.Reason, res.Field, res.Message)
			}
		}
		// A district admin resolves some open conflicts.
		open, err := records.Conflicts(ctx, districtAdmin, sync.ConflictQuery{Status: "open", Limit: 50})
		mustNoErr(t, err)
		for _, cv := range open {
			if rng.IntN(4) == 0 {
				continue // left open for now
			}
			choice := []string{sync.ChoiceTakeProposed, sync.ChoiceKeepServer}[resolved%2]
			resolved++
			if _, _, err := records.Resolve(ctx, districtAdmin, cv.ID, choice, nil); err != nil {
				t.Logf("resolve %s: %v", cv.ID, err)
			} else {
				counts["resolutions ("+choice+")"]++
				if isFirst[cv.ObservationID] && choice == sync.ChoiceTakeProposed {
					events["counting member's conflict resolved"]++
				}
			}
			for _, tb := range tablets {
				delete(tb.known, cv.ObservationID) // the tablets pull the outcome later; stop amending it here
			}
		}
		if rng.IntN(3) == 0 { // the server's compactor folds some pushes' cell deltas meanwhile
			n, err := st.CompactProgress(ctx, 1+rng.IntN(400))
			mustNoErr(t, err)
			counts["compacted cell deltas"] += n
		}
		if step == 12 { // the district moves its windows: window aggregates are rebuilt
			s := district.Settings
			s.Windows = []observation.NamedWindow{{Key: "baseline", Title: "Baseline", StartMonth: 9, StartDay: 1, EndMonth: 11, EndDay: 30},
				{Key: "spring", Title: "Spring", StartMonth: 2, StartDay: 1, EndMonth: 5, EndDay: 31}}
			_, _, err := rosters.UpdateSettings(ctx, districtAdmin, district.ID, s, []string{"windows"})
			mustNoErr(t, err)
		}
		stored := storedObservations(t, st)
		firstAfter, months := countingMembers(stored)
		for k, id := range firstAfter {
			if prev, ok := firstBefore[k]; ok && prev != id {
				events["counting member changed"]++
			}
			if len(months[k]) > 1 {
				events["group spanning months"]++
			}
		}
		for _, o := range stored {
			if progress.Counted(o) && o.CoObservation != "" && firstAfter[o.CoObservation] != o.ID && o.SubmittedAt.Equal(serverNow) {
				events["late member"]++ // submitted in this step, after the group's first member
			}
		}
		if step%4 == 3 || step == 23 {
			compareProgress(t, st, prog, clock, district.ID, tablets, districtAdmin, fmt.Sprint("step ", step))
			var pairs int
			mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM progress_pairs WHERE (m::jsonb->>'n')::int > 0`).Scan(&pairs))
			counts["pair rows (most at once)"] = max(counts["pair rows (most at once)"], pairs)
		}
	}
	t.Logf("history: %v", counts)
	for _, k := range []string{"resolutions (take_proposed)", "compacted cell deltas", "deletions", "amendments", "late arrivals into the previous school year", "co-observed records", "conflicts", "pair rows (most at once)"} {
		if counts[k] == 0 {
			t.Errorf("the history had no %s", k)
		}
	}
}

// compareProgress checks the stored aggregates and every view against the recomputation. The
// views are read through fromRows, the history's one service, so its summaries of the site rows
// it read at earlier steps (kept by row version) are reused where the rows did not change since.
func compareProgress(t *testing.T, st *store.Store, fromRows *progress.Service, clock func() time.Time, districtID string, tablets []*tablet,
	districtAdmin observation.Principal, when string) {
	t.Helper()
	ctx := context.Background()
	// The stored rows must equal the recomputation of the contract over the raw observations
	// (assertProgress reports the differences); the views are then built from both.
	want := progressref.Aggregates(storedObservations(t, st), progressInputs(t, st)).Normalize()
	if assertProgress(t, st, when); t.Failed() {
		t.FailNow()
	}
	fromRaw := &progress.Service{Store: recomputedStore{Store: st, d: want}, Now: clock}
	d, err := st.ProgressDistrict(ctx, districtID)
	mustNoErr(t, err)
	type query struct{ kind, key string }
	queries := []query{{"", ""}, {"school_year", "2024-25"}, {"term", "2025-26/T2"}, {"month", "2026-02"}, {"month", "2025-10"},
		{"week", "2026-W10"}, {"window", "2025-26/baseline"}}
	for _, w := range d.Settings.Windows {
		queries = append(queries, query{"window", "2025-26/" + w.Key}, query{"window", "2024-25/" + w.Key})
	}
	viewers := []observation.Principal{districtAdmin}
	for _, tb := range tablets {
		viewers = append(viewers, tb.p)
	}
	check := func(name string, a, b any, errA, errB error) {
		t.Helper()
		if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
			t.Fatalf("%s: %s: errors differ: %v vs %v", when, name, errA, errB)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %s: the view from the aggregates differs from the recomputation:\n got %+v\nwant %+v", when, name, a, b)
		}
	}
	for _, q := range queries {
		for _, p := range viewers {
			vq := progress.ViewQuery{DistrictID: districtID, PeriodKind: q.kind, PeriodKey: q.key}
			name := fmt.Sprintf("%s %s:%s", p.UserID, q.kind, q.key)
			a, errA := fromRows.DistrictProgress(ctx, p, vq)
			b, errB := fromRaw.DistrictProgress(ctx, p, vq)
			check("district progress "+name, a, b, errA, errB)
			c1, errA := fromRows.Coverage(ctx, p, vq)
			c2, errB := fromRaw.Coverage(ctx, p, vq)
			check("coverage "+name, c1, c2, errA, errB)
			k1, errA := fromRows.Calibration(ctx, p, vq)
			k2, errB := fromRaw.Calibration(ctx, p, vq)
			check("calibration "+name, k1, k2, errA, errB)
			t1, errA := fromRows.TalkEquity(ctx, p, vq)
			t2, errB := fromRaw.TalkEquity(ctx, p, vq)
			check("talk and equity "+name, t1, t2, errA, errB)
			if len(p.SiteIDs) > 0 {
				vq.SiteID = p.SiteIDs[0]
				vq.Periods = 4
				s1, errA := fromRows.SiteTrends(ctx, p, vq)
				s2, errB := fromRaw.SiteTrends(ctx, p, vq)
				check("site trends "+name, s1, s2, errA, errB)
				r1, errA := fromRows.Classrooms(ctx, p, vq)
				r2, errB := fromRaw.Classrooms(ctx, p, vq)
				check("classrooms "+name, r1, r2, errA, errB)
			}
		}
		if q.kind != "window" {
			admin := observation.Principal{UserID: "admin-1", Role: observation.RoleAdmin}
			vq := progress.ViewQuery{PeriodKind: q.kind, PeriodKey: q.key}
			n1, errA := fromRows.Network(ctx, admin, vq)
			n2, errB := fromRaw.Network(ctx, admin, vq)
			check("network "+q.kind+":"+q.key, n1, n2, errA, errB)
		}
	}
	g1, errA := fromRows.Goals(ctx, districtAdmin, districtID)
	g2, errB := fromRaw.Goals(ctx, districtAdmin, districtID)
	check("goals", g1, g2, errA, errB)
}
