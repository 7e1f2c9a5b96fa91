package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// Migration 00006 makes observation ids unique across districts. A database where one id is
// already used in two districts is not silently rewritten (tablets hold ids): the migration
// stops and names the ids, and runs once an operator has resolved them.
func TestMigrationRefusesObservationIDsSharedByDistricts(t *testing.T) {
	t.Parallel()
	st := pgtest.NewStore(t)
	ctx := context.Background()
	m, err := st.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.DownTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	const id = "01a24b60-9826-748c-948f-08f3c4a0d804"
	_, err = st.Pool().Exec(ctx, `INSERT INTO districts (district_id, name) VALUES ('d-one', 'One'), ('d-two', 'Two');
		INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id, observer_id, status, kind,
			rubric_id, rubric_version, started_at, revision, content, content_hash, updated_by)
		SELECT d, '`+id+`', 's', 'c', 't', 'o', 'draft', 'walkthrough', 'r', 1, now(), 1, '{}', 'h', 'o'
		FROM unnest(ARRAY['d-one', 'd-two']) AS d`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err == nil || !strings.Contains(err.Error(), "more than one district") || !strings.Contains(err.Error(), id) {
		t.Fatalf("migrating with an id in two districts: %v; want a refusal naming the id", err)
	}
	if v, err := m.Version(ctx); err != nil || v != 5 {
		t.Fatalf("version %d (%v) after the refused migration, want 5", v, err)
	}
	if _, err := st.Pool().Exec(ctx, `DELETE FROM observations WHERE district_id = 'd-two'`); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("migrating once resolved: %v", err)
	}
	if _, err := st.Pool().Exec(ctx, `INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id,
			observer_id, status, kind, rubric_id, rubric_version, started_at, revision, content, content_hash, updated_by)
		SELECT 'd-two', observation_id, site_id, classroom_id, teacher_id, observer_id, status, kind, rubric_id, rubric_version,
			started_at, revision, content, content_hash, updated_by FROM observations WHERE observation_id = $1`, id); err == nil ||
		!strings.Contains(err.Error(), "observations_observation_id_key") {
		t.Fatalf("a second row for one id: %v; want the unique index to refuse it", err)
	}
}

// A push stores its results as one row (migration 00017, push_replies). Replays of seqs from
// several pushes at once get each seq's own result, and results survive migrating down to one
// row per seq (push_results) and up again.
func TestPushRepliesReplayAcrossPushes(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	coach := e.staff(t, riverbend+".coach-1")
	rooms := e.classrooms(tubman)
	var first []sync.Result
	for p := range 3 { // seqs 1-3, 4-6, 7-9
		var changes []sync.Change
		for i := range 3 {
			changes = append(changes, upsert(e.record(coach, rooms[i], e.start.AddDate(0, 0, p*3+i), ""), 0))
		}
		first = append(first, e.push(t, coach, changes...)...)
	}
	var replies int
	if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM push_replies WHERE device_id = $1`, e.devices[coach.UserID]).Scan(&replies); err != nil || replies != 3 {
		t.Fatalf("%d rows of stored results (%v), want one per push: 3", replies, err)
	}
	replay := func(step string, seqs ...int64) {
		t.Helper()
		var changes []sync.Change
		for _, seq := range seqs {
			r := first[seq-1]
			stored, err := e.st.Observation(ctx, r.ObservationID)
			if err != nil {
				t.Fatal(err)
			}
			changes = append(changes, sync.Change{Seq: seq, Op: sync.OpUpsert, Record: stored.Record, ObservationID: r.ObservationID})
		}
		resp, err := e.service().Push(ctx, coach, sync.PushRequest{DeviceID: e.devices[coach.UserID], Changes: changes, SchemaVersion: 1}, 0)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		for i, r := range resp.Results {
			want := first[seqs[i]-1]
			if !r.Replayed || r.Seq != want.Seq || r.Status != want.Status || r.ObservationID != want.ObservationID ||
				r.Revision != want.Revision || r.ContentHash != want.ContentHash {
				t.Errorf("%s: seq %d answered %+v, want the stored %+v replayed", step, seqs[i], r, want)
			}
		}
	}
	replay("one row per push", 8, 2, 5, 3)

	m, err := e.st.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.DownTo(ctx, 16); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	if err := e.st.Pool().QueryRow(ctx, `SELECT array_agg(seq ORDER BY seq) FROM push_results WHERE device_id = $1 AND result->>'Seq' = seq::text`,
		e.devices[coach.UserID]).Scan(&seqs); err != nil || len(seqs) != 9 || seqs[0] != 1 || seqs[8] != 9 {
		t.Fatalf("after migrating down: results of seqs %v (%v), want 1-9 one row each", seqs, err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	replay("migrated down and up", 9, 1, 4)
}

// Migrations 00018 and 00020: large values are compressed with lz4 where the server has it, and
// read back unchanged.
func TestLargeValuesCompressedWithLZ4(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	if !hasLZ4(t, e.st) {
		t.Skip("this PostgreSQL has no lz4")
	}
	coach := e.staff(t, riverbend+".coach-1")
	r := e.record(coach, e.classrooms(tubman)[0], e.start, "")
	r.NextSteps = strings.Repeat("Invite students to revoice a peer's strategy before comparing methods. ", 50)
	res := e.push(t, coach, upsert(r, 0))
	var method string
	if err := e.st.Pool().QueryRow(ctx, `SELECT coalesce(pg_column_compression(content), 'none') FROM observations WHERE observation_id = $1`,
		res[0].ObservationID).Scan(&method); err != nil || method != "lz4" {
		t.Fatalf("a %d-character record stored with compression %q (%v), want lz4", len(r.NextSteps), method, err)
	}
	if err := e.st.Pool().QueryRow(ctx, `SELECT coalesce(max(pg_column_compression(m)), 'none') FROM progress_cells`).Scan(&method); err != nil ||
		(method != "lz4" && method != "none") {
		t.Fatalf("aggregate counters compressed with %q (%v), want lz4 or none", method, err)
	}
	stored, err := e.st.Observation(ctx, res[0].ObservationID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Record.NextSteps != r.NextSteps || stored.ContentHash != res[0].ContentHash || stored.Record.Hash() != res[0].ContentHash {
		t.Fatalf("the compressed record does not read back as pushed")
	}
	// A push's results, stored for replay in one value, large enough to be compressed.
	changes := make([]sync.Change, 40)
	for i := range changes {
		changes[i] = upsert(e.record(coach, e.classrooms(tubman)[i%3], e.start.AddDate(0, 0, i), ""), 0)
	}
	pushed := e.push(t, coach, changes...)
	if err := e.st.Pool().QueryRow(ctx, `SELECT coalesce(pg_column_compression(results), 'none')
		FROM push_replies WHERE device_id = $1 ORDER BY last_seq DESC LIMIT 1`, e.devices[coach.UserID]).Scan(&method); err != nil ||
		method != "lz4" {
		t.Fatalf("the results of a push of %d changes stored with compression %q (%v), want lz4", len(changes), method, err)
	}
	for i := range changes {
		changes[i].Seq = pushed[i].Seq
	}
	resp, err := e.service().Push(ctx, coach, sync.PushRequest{DeviceID: e.devices[coach.UserID], Changes: changes, SchemaVersion: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	replayed := resp.Results
	for i := range pushed {
		if p, r := pushed[i], replayed[i]; !r.Replayed || p.Seq != r.Seq || p.ObservationID != r.ObservationID || p.Status != r.Status ||
			p.Revision != r.Revision || p.ContentHash != r.ContentHash {
			t.Fatalf("seq %d replayed from a compressed value as %+v, pushed as %+v", p.Seq, r, p)
		}
	}
}

// Migration 00019: the counters of aggregate rows are stored as JSON text. Rows written as jsonb
// before it read the same after it (and after migrating back down and up), and writes after it
// add to them.
func TestProgressCountersStoredAsText(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	coach1, coach2 := e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")
	rooms := e.classrooms(tubman)
	push := func(day int) {
		t.Helper()
		at := e.start.AddDate(0, 0, day)
		co := fmt.Sprintf("lesson-%d", day)
		e.push(t, coach1, upsert(e.record(coach1, rooms[day%3], at, co), 0), upsert(e.record(coach1, rooms[(day+1)%3], at, ""), 0))
		e.push(t, coach2, upsert(e.record(coach2, rooms[day%3], at.Add(time.Minute), co), 0))
		if _, err := e.st.CompactProgress(ctx, 1_000); err != nil {
			t.Fatal(err)
		}
	}
	columnTypes := func() string {
		t.Helper()
		var types string
		if err := e.st.Pool().QueryRow(ctx, `SELECT string_agg(table_name || '.m ' || data_type, ', ' ORDER BY table_name)
			FROM information_schema.columns WHERE table_name IN ('progress_cells', 'progress_pairs') AND column_name = 'm'`).Scan(&types); err != nil {
			t.Fatal(err)
		}
		return types
	}
	m, err := e.st.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Migrating down to 18 also takes back 00021 (see migrateStep).
	down := func() error { _, err := m.DownTo(ctx, 18); return err }
	up := func() error { _, err := m.Up(ctx); return err }
	migrateStep(t, e.st, down)
	if got := columnTypes(); got != "progress_cells.m jsonb, progress_pairs.m jsonb" {
		t.Fatalf("before the migration: %s", got)
	}
	migrateStep(t, e.st, up)
	push(1) // written as text
	got := assertProgress(t, e.st, "written as text")
	if len(got.Pairs) == 0 {
		t.Fatal("no pair rows")
	}
	migrateStep(t, e.st, down)
	if got := columnTypes(); got != "progress_cells.m jsonb, progress_pairs.m jsonb" {
		t.Fatalf("migrated down: %s", got)
	}
	assertProgress(t, e.st, "migrated down to jsonb")
	migrateStep(t, e.st, up)
	if got := columnTypes(); got != "progress_cells.m text, progress_pairs.m text" {
		t.Fatalf("migrated up: %s", got)
	}
	assertProgress(t, e.st, "migrated up from jsonb")
	push(2) // added to rows that came from jsonb
	push(1)
	assertProgress(t, e.st, "written after the migration")
	var sites int
	if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM progress_cells WHERE classroom_id = '' AND m NOT LIKE '%: %'`).Scan(&sites); err != nil || sites == 0 {
		t.Fatalf("%d site rows rewritten as the server writes them (%v)", sites, err)
	}
}

// Migration 00021: an observation's content is stored as json, byte for byte the canonical JSON
// the server wrote (its SHA-256 is the content hash), whether the record was created (COPY) or
// edited (the upsert). Content stored as jsonb before it reads the same after it, and after
// migrating back down and up.
func TestObservationContentStoredAsWritten(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	coach := e.staff(t, riverbend+".coach-1")
	r := e.record(coach, e.classrooms(tubman)[0], e.start, "")
	r.NextSteps = "Compare <two> strategies & ask \"why?\" — élèves, 数学"
	stored := func(what, id string) (typ string, asWritten bool) {
		t.Helper()
		var text, hash string
		if err := e.st.Pool().QueryRow(ctx, `SELECT pg_typeof(content)::text, content::text, content_hash FROM observations
			WHERE observation_id = $1`, id).Scan(&typ, &text, &hash); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		sum := sha256.Sum256([]byte(text))
		o, err := e.st.Observation(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if o.ContentHash != hash || o.Record.Hash() != hash || o.Record.NextSteps != r.NextSteps {
			t.Fatalf("%s: the record does not read back as pushed (hash %s, recomputed %s, stored %s)", what, o.ContentHash, o.Record.Hash(), hash)
		}
		return typ, hex.EncodeToString(sum[:]) == hash
	}
	created := e.push(t, coach, upsert(r, 0))[0]
	if typ, ok := stored("created", created.ObservationID); typ != "json" || !ok {
		t.Fatalf("a created record stored as %s, as written: %v; want json, byte for byte", typ, ok)
	}
	m, err := e.st.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	migrateStep(t, e.st, func() error { _, err := m.DownTo(ctx, 20); return err })
	if typ, _ := stored("migrated down", created.ObservationID); typ != "jsonb" {
		t.Fatalf("migrated down: content stored as %s, want jsonb", typ)
	}
	migrateStep(t, e.st, func() error { _, err := m.Up(ctx); return err })
	if typ, _ := stored("migrated up", created.ObservationID); typ != "json" {
		t.Fatalf("migrated up: content stored as %s, want json", typ)
	}
	// The migration rewrites the stored values with lz4 where the server has it (00018).
	var method string
	if err := e.st.Pool().QueryRow(ctx, `SELECT coalesce(pg_column_compression(content), 'none') FROM observations
		WHERE observation_id = $1`, created.ObservationID).Scan(&method); err != nil {
		t.Fatal(err)
	}
	if hasLZ4(t, e.st) && method != "lz4" {
		t.Fatalf("migrated up: the record rewritten with compression %q, want lz4", method)
	}
	r.LessonFocus = "Justifying with area models"
	edited := e.push(t, coach, upsert(r, created.Revision))[0]
	if edited.Revision != created.Revision+1 {
		t.Fatalf("the edit stored revision %d, want %d", edited.Revision, created.Revision+1)
	}
	if typ, ok := stored("edited", created.ObservationID); typ != "json" || !ok {
		t.Fatalf("an edited record stored as %s, as written: %v; want json, byte for byte", typ, ok)
	}
	var former string
	if err := e.st.Pool().QueryRow(ctx, `SELECT content_hash FROM observation_revisions WHERE observation_id = $1 AND revision = $2`,
		created.ObservationID, created.Revision).Scan(&former); err != nil || former != created.ContentHash {
		t.Fatalf("the superseded revision: hash %q (%v), want %q", former, err, created.ContentHash)
	}
}

// migrateStep runs one migration step, then starts st on new connections. A step that changes
// the type of observations.content (00021) leaves each connection's prepared statements that
// read it failing once (cached plan must not change result type): a server is restarted after
// migrating (docs/deploy.md), and so is the test's store.
func migrateStep(t *testing.T, st *store.Store, step func() error) {
	t.Helper()
	if err := step(); err != nil {
		t.Fatal(err)
	}
	st.Pool().Reset()
}

// hasLZ4 reports whether the server compresses with lz4 (where migrations 00018, 00020 and 00021
// set it).
func hasLZ4(t *testing.T, st *store.Store) bool {
	t.Helper()
	var ok bool
	if err := st.Pool().QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))`).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}
