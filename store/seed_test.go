package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
)

// seedFixture is the demo roster and the default rubric, loaded into a fresh database.
type seedFixture struct {
	st     *store.Store
	net    demo.Roster
	rubric observation.RubricVersion
	groups map[string][]observation.StudentGroup
	admins map[string]observation.Principal
}

func newSeedFixture(t testing.TB) seedFixture {
	t.Helper()
	ctx := context.Background()
	f := seedFixture{st: pgtest.NewStore(t), net: demo.Network(), rubric: observation.DefaultRubricVersion(now()),
		groups: map[string][]observation.StudentGroup{}, admins: map[string]observation.Principal{}}
	if _, err := f.st.EnsurePublishedRubric(ctx, f.rubric); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UpsertRoster(ctx, store.Roster{Districts: f.net.Districts, Sites: f.net.Sites,
		Classrooms: f.net.Classrooms, Staff: f.net.Staff}); err != nil {
		t.Fatal(err)
	}
	for _, d := range f.net.Districts {
		f.groups[d.ID] = d.Settings.StudentGroups
	}
	for _, s := range f.net.Staff {
		if s.Role == roster.StaffDistrictAdmin {
			f.admins[s.DistrictID] = observation.Principal{UserID: s.ID, Role: observation.RoleDistrictAdmin, DistrictID: s.DistrictID}
		}
	}
	return f
}

// records generates n submitted records over the demo classrooms; every tenth pair of records
// is a calibration co-observation of one lesson.
func (f seedFixture) records(seed int64, n int) []observation.StoredObservation {
	g := synth.New(seed)
	start := time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	out := make([]observation.StoredObservation, n)
	for i := range out {
		lesson := i
		in := synth.Input{Rubric: f.rubric, SchoolYearStart: start, Leniency: 0.1}
		if i%20 >= 18 {
			lesson = i - i%20 + 18
			in.Kind = observation.KindCalibration
			in.Leniency = float64(i%2) * 0.3
		}
		c := f.net.Classrooms[lesson%len(f.net.Classrooms)]
		in.Classroom, in.StudentGroups, in.Observer = c, f.groups[c.DistrictID], f.admins[c.DistrictID]
		in.When = start.Add(14*24*time.Hour + time.Duration(lesson)*17*time.Minute)
		r := g.Record(in)
		content, hash := r.Canonical()
		out[i] = observation.StoredObservation{Record: r, Revision: 1, ContentHash: hash, UpdatedBy: r.ObserverID,
			CommittedAt: r.RecordedAt.Add(time.Hour), Content: content}
	}
	return out
}

func countObservations(t *testing.T, st *store.Store) int64 {
	t.Helper()
	var n int64
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM observations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCopyObservations(t *testing.T) {
	ctx := context.Background()
	f := newSeedFixture(t)
	rows := f.records(7, store.CopyBatchSize+37) // more than one COPY
	n, err := f.st.CopyObservations(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(rows)) {
		t.Errorf("CopyObservations = %d, want %d", n, len(rows))
	}
	if got := countObservations(t, f.st); got != int64(len(rows)) {
		t.Errorf("%d observations stored, want %d", got, len(rows))
	}

	rooms := map[string]observation.Classroom{}
	for _, c := range f.net.Classrooms {
		rooms[c.ID] = c
	}
	for _, i := range []int{0, 1, 18, 19, store.CopyBatchSize, len(rows) - 1} {
		want := rows[i]
		got, err := f.st.Observation(ctx, want.ID)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if got.ContentHash != want.Record.Hash() || got.Record.Hash() != want.Record.Hash() {
			t.Errorf("row %d: stored hash %s, hash of the stored record %s; want %s", i, got.ContentHash, got.Record.Hash(), want.Record.Hash())
		}
		if !reflect.DeepEqual(got.Record, want.Record) {
			t.Errorf("row %d: stored record differs:\n got %+v\nwant %+v", i, got.Record, want.Record)
		}
		if got.Revision != 1 || got.Deleted || got.UpdatedBy != want.ObserverID || got.DeviceID != "" || !got.CommittedAt.Equal(want.CommittedAt) {
			t.Errorf("row %d: revision %d, deleted %v, updated by %q, device %q, committed %v; want 1, false, %q, none, %v",
				i, got.Revision, got.Deleted, got.UpdatedBy, got.DeviceID, got.CommittedAt, want.ObserverID, want.CommittedAt)
		}
		c := rooms[got.ClassroomID]
		if err := observation.ValidateRecord(got.Record, f.rubric, observation.RecordContext{Classroom: &c,
			StudentGroups: f.groups[c.DistrictID]}); err != nil {
			t.Errorf("row %d: stored record is not valid: %v", i, err)
		}
	}
	// The indexed columns match the content, and the defaults are those of a first revision.
	var bad int64
	if err := f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM observations WHERE
		content->>'id' <> observation_id::text OR content->>'site_id' <> site_id OR content->>'classroom_id' <> classroom_id
		OR content->>'teacher_id' <> teacher_id OR content->>'observer_id' <> observer_id OR content->>'status' <> status
		OR content->>'kind' <> kind OR content->>'rubric_id' <> rubric_id OR (content->>'rubric_version')::int <> rubric_version
		OR (content->>'started_at')::timestamptz <> started_at OR former_sites <> '{}' OR deleted_at IS NOT NULL
		OR txid IS NULL OR length(content_hash) <> 64`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d rows whose columns disagree with their content", bad)
	}
	var pairs, pairKeys int64
	if err := f.st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT content->>'co_observation') FROM observations
		WHERE kind = 'calibration'`).Scan(&pairs, &pairKeys); err != nil {
		t.Fatal(err)
	}
	if pairs == 0 || pairs != 2*pairKeys {
		t.Errorf("%d calibration records with %d co-observation keys, want pairs", pairs, pairKeys)
	}

	counts, err := f.st.ObservationCounts(ctx, []string{"riverbend-usd", "mesa-verde-sd", "lakeshore-usd", "nowhere"})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	if total != int64(len(rows)) || len(counts) != 3 || counts["nowhere"] != 0 {
		t.Errorf("ObservationCounts = %v, want the %d rows over the 3 demo districts", counts, len(rows))
	}
	have, err := f.st.ExistingObservations(ctx, []string{rows[5].ID, "01890000-0000-7000-8000-000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if !have[rows[5].ID] || len(have) != 1 {
		t.Errorf("ExistingObservations = %v, want only %s", have, rows[5].ID)
	}
}

func TestCopyObservationsRefusals(t *testing.T) {
	ctx := context.Background()
	f := newSeedFixture(t)
	rows := f.records(11, 30)
	if n, err := f.st.CopyObservations(ctx, rows[:10]); err != nil || n != 10 {
		t.Fatalf("CopyObservations = %d, %v", n, err)
	}

	// A row that exists already fails the whole call: nothing of it is written.
	if _, err := f.st.CopyObservations(ctx, rows[5:20]); observation.KindOf(err) != observation.KindAlreadyExists {
		t.Errorf("copying an existing row: err = %v, want already exists", err)
	}
	// So does a row of a district that does not exist.
	ghost := rows[20]
	ghost.DistrictID = "no-such-district"
	batch := append(append([]observation.StoredObservation{}, rows[21:25]...), ghost)
	if _, err := f.st.CopyObservations(ctx, batch); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("copying into an unknown district: err = %v, want not found", err)
	}
	// A hash that is not the content's, and an id that is not a UUID, are refused.
	wrong := rows[25]
	wrong.Content, wrong.ContentHash = nil, rows[26].ContentHash
	if _, err := f.st.CopyObservations(ctx, []observation.StoredObservation{wrong}); err == nil {
		t.Error("copying a row with a wrong content hash succeeded")
	}
	badID := rows[27]
	badID.ID = "not-a-uuid"
	if _, err := f.st.CopyObservations(ctx, []observation.StoredObservation{badID}); observation.KindOf(err) != observation.KindInvalid {
		t.Errorf("copying a row with a bad id: err = %v, want invalid", err)
	}
	if got := countObservations(t, f.st); got != 10 {
		t.Errorf("%d observations after refused copies, want the first 10", got)
	}

	// Defaults: no content (encoded here), no revision, no updater, no commit time.
	bare := rows[28]
	bare.Content, bare.ContentHash, bare.Revision, bare.UpdatedBy, bare.CommittedAt = nil, "", 0, "", time.Time{}
	before := now()
	if n, err := f.st.CopyObservations(ctx, []observation.StoredObservation{bare}); err != nil || n != 1 {
		t.Fatalf("CopyObservations(defaults) = %d, %v", n, err)
	}
	got, err := f.st.Observation(ctx, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContentHash != bare.Record.Hash() || got.Revision != 1 || got.UpdatedBy != bare.ObserverID || got.CommittedAt.Before(before) {
		t.Errorf("defaults: hash %s revision %d updated by %q committed %v; want %s, 1, %q, now",
			got.ContentHash, got.Revision, got.UpdatedBy, got.CommittedAt, bare.Record.Hash(), bare.ObserverID)
	}
	if n, err := f.st.CopyObservations(ctx, nil); err != nil || n != 0 {
		t.Errorf("CopyObservations(nil) = %d, %v", n, err)
	}
}

// BenchmarkCopyObservations measures the database side of a bulk load: rows are generated and
// encoded before the clock starts.
func BenchmarkCopyObservations(b *testing.B) {
	ctx := context.Background()
	f := newSeedFixture(b)
	rows := f.records(1, 2*store.CopyBatchSize)
	var size int64
	for _, r := range rows {
		size += int64(len(r.Content))
	}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := f.st.Pool().Exec(ctx, `TRUNCATE observations`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := f.st.CopyObservations(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}
