package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lookfor-edu/lookfor/internal/progressref"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// The progress aggregates must always equal a recomputation of the contract over every stored
// observation (docs/statistics.md "What counts"; progressref.Aggregates): these tests write through each path that changes
// observations and compare the three aggregate tables with a recomputation after each step.

// progressEnv is the demo network with the default rubric, the sync service over the store,
// and one registered device per observer.
type progressEnv struct {
	seedFixture
	svc     *sync.Service
	records *sync.Records
	devices map[string]string // user id → device id
	seqs    map[string]int64  // user id → next seq
	mu      gosync.Mutex
	gen     *synth.Generator
	start   time.Time
}

func newProgressEnv(t *testing.T) *progressEnv {
	t.Helper()
	return &progressEnv{seedFixture: newSeedFixture(t), svc: nil, devices: map[string]string{}, seqs: map[string]int64{},
		gen: synth.New(7), start: time.Date(2025, 9, 1, 13, 0, 0, 0, time.UTC)}
}

func (e *progressEnv) service() *sync.Service {
	if e.svc == nil {
		e.svc = &sync.Service{Store: e.st}
		e.records = &sync.Records{Store: e.st}
	}
	return e.svc
}

// staff returns the principal of a demo staff member.
func (e *progressEnv) staff(t *testing.T, id string) observation.Principal {
	t.Helper()
	roles := map[roster.StaffRole]observation.Role{roster.StaffCoach: observation.RoleCoach,
		roster.StaffPrincipal: observation.RolePrincipal, roster.StaffDistrictAdmin: observation.RoleDistrictAdmin}
	for _, s := range e.net.Staff {
		if s.ID == id {
			p := observation.Principal{UserID: s.ID, Role: roles[s.Role], DistrictID: s.DistrictID}
			if p.Role != observation.RoleDistrictAdmin {
				p.SiteIDs = slices.Clone(s.SiteIDs)
			}
			return p
		}
	}
	t.Fatalf("no staff %s", id)
	return observation.Principal{}
}

// classrooms returns the demo classrooms of a site.
func (e *progressEnv) classrooms(site string) []observation.Classroom {
	var out []observation.Classroom
	for _, c := range e.net.Classrooms {
		if c.SiteID == site {
			out = append(out, c)
		}
	}
	return out
}

// record makes a valid submitted record of p in classroom c at when; a co-observation key makes
// it a calibration.
func (e *progressEnv) record(p observation.Principal, c observation.Classroom, when time.Time, co string) observation.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := synth.Input{Classroom: c, Observer: p, Rubric: e.rubric, StudentGroups: e.groups[c.DistrictID], When: when,
		Kind: observation.KindWalkthrough, Status: observation.RecordSubmitted}
	if co != "" {
		in.Kind = observation.KindCalibration
	}
	r := e.gen.Record(in)
	if co != "" {
		r.CoObservation = co
	}
	return r
}

// push sends changes as p (seqs assigned here) and returns the results, failing the test on
// any rejected change.
func (e *progressEnv) push(t *testing.T, p observation.Principal, changes ...sync.Change) []sync.Result {
	t.Helper()
	res, err := e.tryPush(p, changes...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *progressEnv) tryPush(p observation.Principal, changes ...sync.Change) ([]sync.Result, error) {
	ctx := context.Background()
	svc := e.service()
	e.mu.Lock()
	dev, ok := e.devices[p.UserID]
	if !ok {
		dev = uuid.Must(uuid.NewV7()).String()
		e.devices[p.UserID] = dev
		e.seqs[p.UserID] = 1
	}
	seq := e.seqs[p.UserID]
	e.seqs[p.UserID] += int64(len(changes))
	e.mu.Unlock()
	if !ok {
		if _, err := svc.RegisterDevice(ctx, p, dev, "test", 1); err != nil {
			return nil, fmt.Errorf("register device: %w", err)
		}
	}
	for i := range changes {
		changes[i].Seq = seq + int64(i)
		if changes[i].ObservationID == "" {
			changes[i].ObservationID = changes[i].Record.ID
		}
		if changes[i].Op == "" {
			changes[i].Op = sync.OpUpsert
		}
	}
	resp, err := svc.Push(ctx, p, sync.PushRequest{DeviceID: dev, Changes: changes, SchemaVersion: 1}, 0)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	for _, r := range resp.Results {
		if r.Status == sync.StatusRejected {
			return nil, fmt.Errorf("push as %s: seq %d rejected: %s %s %s", p.UserID, r.Seq, r.Reason, r.Field, r.Message)
		}
	}
	return resp.Results, nil
}

func upsert(r observation.Record, base int) sync.Change {
	return sync.Change{Op: sync.OpUpsert, Record: r, ObservationID: r.ID, BaseRevision: base}
}

func deletion(id string, base int) sync.Change {
	return sync.Change{Op: sync.OpDelete, ObservationID: id, BaseRevision: base}
}

// readProgress reads the aggregate tables as a delta.
func readProgress(t *testing.T, st *store.Store) *progress.Delta {
	t.Helper()
	ctx := context.Background()
	d, logged := progress.NewDelta(), progress.NewDelta()
	// Cells and site rows, plus the deltas of pushes not yet compacted into them (and into their
	// site rows).
	rows, err := st.Pool().Query(ctx, `SELECT false, district_id, period_kind, period_key, site_id, classroom_id, teacher_id, rubric_id, m::jsonb
		FROM progress_cells UNION ALL SELECT true, district_id, split_part(p, '/', 1), substr(p, strpos(p, '/') + 1), site_id,
			classroom_id, teacher_id, rubric_id, m::jsonb
		FROM progress_delta_log, unnest(periods) AS p`)
	mustNoErr(t, err)
	for rows.Next() {
		var k progress.CellKey
		var kind string
		var m progress.Metrics
		var fromLog bool
		mustNoErr(t, rows.Scan(&fromLog, &k.DistrictID, &kind, &k.PeriodKey, &k.SiteID, &k.ClassroomID, &k.TeacherID, &k.RubricID, &m))
		k.Kind = progress.PeriodKind(kind)
		if !fromLog && m.Observations() <= 0 {
			t.Errorf("cell %+v is kept with %d observations", k, m.Observations())
		}
		to := d
		if fromLog {
			to = logged
		}
		c := to.Cells[k]
		c.Add(m, 1)
		to.Cells[k] = c
	}
	mustNoErr(t, rows.Err())
	d.Add(logged.AddSiteRows())
	rows, err = st.Pool().Query(ctx, `SELECT district_id, period_kind, period_key, site_id, observer_a, observer_b, rubric_id, m::jsonb
		FROM progress_pairs`)
	mustNoErr(t, err)
	for rows.Next() {
		var k progress.PairKey
		var kind string
		var m progress.Metrics
		mustNoErr(t, rows.Scan(&k.DistrictID, &kind, &k.PeriodKey, &k.SiteID, &k.ObserverA, &k.ObserverB, &k.RubricID, &m))
		k.Kind = progress.PeriodKind(kind)
		if m.Observations() <= 0 {
			t.Errorf("pair %+v is kept with %d observations", k, m.Observations())
		}
		d.Pairs[k] = m
	}
	mustNoErr(t, rows.Err())
	for k, m := range d.Cells { // zero counters may stay in a row: drop them
		var c progress.Metrics
		c.Add(m, 1)
		d.Cells[k] = c
	}
	for k, m := range d.Pairs {
		var c progress.Metrics
		c.Add(m, 1)
		d.Pairs[k] = c
	}
	return d.Normalize()
}

// storedObservations reads every row of the observations table.
func storedObservations(t *testing.T, st *store.Store) []observation.StoredObservation {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT content, deleted, revision, coalesce(co_observation, ''),
		coalesce(submitted_at, '-infinity') FROM observations`)
	mustNoErr(t, err)
	defer rows.Close()
	var out []observation.StoredObservation
	for rows.Next() {
		var raw []byte
		var o observation.StoredObservation
		var co string
		var submitted pgtype.Timestamptz
		mustNoErr(t, rows.Scan(&raw, &o.Deleted, &o.Revision, &co, &submitted))
		mustNoErr(t, json.Unmarshal(raw, &o.Record))
		if submitted.InfinityModifier == pgtype.Finite {
			o.SubmittedAt = submitted.Time.UTC()
		} else if o.Status == observation.RecordSubmitted {
			t.Errorf("observation %s is submitted but has no submitted_at", o.ID)
		}
		if co != o.CoObservation {
			t.Errorf("observation %s: co_observation column %q, content %q", o.ID, co, o.CoObservation)
		}
		out = append(out, o)
	}
	mustNoErr(t, rows.Err())
	return out
}

// progressInputs reads the settings of every district and the content of every rubric version.
func progressInputs(t *testing.T, st *store.Store) progress.Inputs {
	t.Helper()
	ctx := context.Background()
	settings := map[string]observation.DistrictSettings{}
	rows, err := st.Pool().Query(ctx, `SELECT district_id FROM districts`)
	mustNoErr(t, err)
	var ids []string
	for rows.Next() {
		var id string
		mustNoErr(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	mustNoErr(t, rows.Err())
	for _, id := range ids {
		d, err := st.ProgressDistrict(ctx, id)
		mustNoErr(t, err)
		settings[id] = d.Settings
	}
	type ref struct {
		id string
		v  int
	}
	content := map[ref]observation.RubricContent{}
	rows, err = st.Pool().Query(ctx, `SELECT rubric_id, version FROM rubric_versions`)
	mustNoErr(t, err)
	var refs []ref
	for rows.Next() {
		var r ref
		mustNoErr(t, rows.Scan(&r.id, &r.v))
		refs = append(refs, r)
	}
	mustNoErr(t, rows.Err())
	for _, r := range refs {
		v, err := st.GetRubricVersion(ctx, r.id, r.v)
		mustNoErr(t, err)
		content[r] = v.Content
	}
	return progress.Inputs{
		Settings: func(id string) observation.DistrictSettings { return settings[id] },
		Content: func(id string, v int) (observation.RubricContent, bool) {
			c, ok := content[ref{id, v}]
			return c, ok
		},
	}
}

// assertProgress checks that the aggregate tables equal the recomputation from every stored
// observation, and returns the rows.
func assertProgress(t *testing.T, st *store.Store, step string) *progress.Delta {
	t.Helper()
	want := progressref.Aggregates(storedObservations(t, st), progressInputs(t, st)).AddSiteRows().Normalize()
	got := readProgress(t, st)
	diffs := 0
	report := func(format string, args ...any) {
		if diffs++; diffs <= 10 {
			t.Errorf(step+": "+format, args...)
		}
	}
	for k, m := range want.Cells {
		if !got.Cells[k].Equal(m) {
			report("cell %+v: stored %v, recomputed %v", k, got.Cells[k], m)
		}
	}
	for k, m := range got.Cells {
		if _, ok := want.Cells[k]; !ok {
			report("cell %+v stored (%v) but not recomputed", k, m)
		}
	}
	for k, m := range want.Pairs {
		if !got.Pairs[k].Equal(m) {
			report("pair %+v: stored %v, recomputed %v", k, got.Pairs[k], m)
		}
	}
	for k, m := range got.Pairs {
		if _, ok := want.Pairs[k]; !ok {
			report("pair %+v stored (%v) but not recomputed", k, m)
		}
	}
	if diffs > 10 {
		t.Errorf("%s: %d differences in all", step, diffs)
	}
	return got
}

// classroomObservations counts the observations of one classroom in the stored cells of one
// period kind.
func classroomObservations(d *progress.Delta, kind progress.PeriodKind, classroom string) int {
	n := 0
	for k, m := range d.Cells {
		if k.Kind == kind && k.ClassroomID == classroom {
			n += m.Observations()
		}
	}
	return n
}

// pairLessons counts the co-observed lessons of the stored pair rows of one period kind.
func pairLessons(d *progress.Delta, kind progress.PeriodKind) int {
	n := 0
	for k, m := range d.Pairs {
		if k.Kind == kind {
			n += m.Observations()
		}
	}
	return n
}

const tubman = riverbend + ".harriet-tubman-es"

// calibrationRows makes n stored rows over the demo classrooms: solo visits, and every fourth
// and fifth row a co-observed lesson of a coach and the site's principal; a few drafts and
// tombstones too.
func (e *progressEnv) calibrationRows(t *testing.T, seed uint64, n int) []observation.StoredObservation {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var rooms []observation.Classroom
	for _, c := range e.net.Classrooms {
		if c.DistrictID == riverbend {
			rooms = append(rooms, c)
		}
	}
	coaches := []observation.Principal{e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")}
	out := make([]observation.StoredObservation, 0, n)
	for len(out) < n {
		c := rooms[rng.IntN(len(rooms))]
		when := e.start.AddDate(0, 0, rng.IntN(200)).Add(time.Duration(rng.IntN(400)) * time.Minute)
		coach := coaches[rng.IntN(2)]
		principal := e.staff(t, strings.Replace(c.SiteID, ".", ".principal-", 1))
		var recs []observation.Record
		if len(out)%5 == 3 {
			co := fmt.Sprintf("bulk-%d-%d", seed, len(out))
			recs = append(recs, e.record(coach, c, when, co), e.record(principal, c, when, co))
		} else {
			recs = append(recs, e.record(coach, c, when, ""))
		}
		for _, r := range recs {
			o := observation.StoredObservation{Record: r}
			switch rng.IntN(20) {
			case 0:
				o.Status = observation.RecordDraft
			case 1:
				o.Deleted = true
			}
			out = append(out, o)
		}
	}
	return out
}
