package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
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
