package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

// addVersion appends a version with the given status through CreateVersion.
func addVersion(t *testing.T, st *store.Store, id string, status observation.VersionStatus, c observation.RubricContent) observation.RubricVersion {
	t.Helper()
	v, err := st.CreateVersion(context.Background(), id, observation.AuditEntry{}, func(newest observation.RubricVersion) (observation.RubricVersion, error) {
		return newVersion(newest.OwnerID, id, newest.Version+1, status, c), nil
	})
	mustNoErr(t, err)
	return v
}

// rowState is what a write to a rubric_versions row would change; xmin changes on every write.
type rowState struct {
	Status, Hash, Xmin string
	UpdatedAt          time.Time
}

func versionRow(t *testing.T, st *store.Store, id string, version int) rowState {
	t.Helper()
	var r rowState
	mustNoErr(t, st.Pool().QueryRow(context.Background(), `SELECT status, content_hash, xmin::text, updated_at
		FROM rubric_versions WHERE rubric_id = $1 AND version = $2`, id, version).Scan(&r.Status, &r.Hash, &r.Xmin, &r.UpdatedAt))
	return r
}

func countVersions(t *testing.T, st *store.Store, id string) int {
	t.Helper()
	var n int
	mustNoErr(t, st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM rubric_versions WHERE rubric_id = $1`, id).Scan(&n))
	return n
}

func assertSameVersion(t *testing.T, got, want observation.RubricVersion) {
	t.Helper()
	if got.OwnerID != want.OwnerID || got.RubricID != want.RubricID || got.Version != want.Version ||
		got.Status != want.Status || got.ContentHash != want.ContentHash || got.CreatedBy != want.CreatedBy {
		t.Errorf("got %s/%s v%d %s %s by %q, want %s/%s v%d %s %s by %q",
			got.OwnerID, got.RubricID, got.Version, got.Status, got.ContentHash, got.CreatedBy,
			want.OwnerID, want.RubricID, want.Version, want.Status, want.ContentHash, want.CreatedBy)
	}
	if h := got.Content.Hash(); h != want.ContentHash {
		t.Errorf("content read back hashes to %s, want %s", h, want.ContentHash)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("times: created %v updated %v, want %v %v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	eqp := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	if !eqp(got.PublishedAt, want.PublishedAt) || !eqp(got.RetiredAt, want.RetiredAt) {
		t.Errorf("published %v retired %v, want %v %v", got.PublishedAt, got.RetiredAt, want.PublishedAt, want.RetiredAt)
	}
}

func TestCreateRubricRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)

	want := newVersion(riverbend, "fractions", 1, observation.StatusDraft, testContent("Fractions"))
	mustNoErr(t, st.CreateRubric(ctx, want, observation.AuditEntry{}))
	got, err := st.GetRubricVersion(ctx, "fractions", 1)
	mustNoErr(t, err)
	assertSameVersion(t, got, want)
	if got.Content.Title["en"] != "Fractions" {
		t.Errorf("title %v", got.Content.Title)
	}
}

func TestCreateRubricDuplicateID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)

	first := newVersion(riverbend, "dup", 1, observation.StatusDraft, testContent("First"))
	mustNoErr(t, st.CreateRubric(ctx, first, observation.AuditEntry{}))
	for _, owner := range []string{riverbend, mesaVerde, observation.NetworkOwner} {
		t.Run(owner, func(t *testing.T) {
			err := st.CreateRubric(ctx, newVersion(owner, "dup", 1, observation.StatusPublished, testContent("Second")), observation.AuditEntry{})
			e := assertKind(t, err, observation.KindAlreadyExists, "")
			if e.Field != "rubric_id" {
				t.Errorf("field = %q, want rubric_id", e.Field)
			}
			if !errors.Is(err, observation.ErrAlreadyExists) {
				t.Errorf("errors.Is(err, ErrAlreadyExists) = false")
			}
		})
	}
	// The first rubric is untouched and no stray rows were written.
	got, err := st.GetRubricVersion(ctx, "dup", 1)
	mustNoErr(t, err)
	assertSameVersion(t, got, first)
	if n := countVersions(t, st, "dup"); n != 1 {
		t.Errorf("%d versions of dup, want 1", n)
	}
	var rubrics int
	mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM rubrics WHERE rubric_id = 'dup'`).Scan(&rubrics))
	if rubrics != 1 {
		t.Errorf("%d rubrics rows for dup, want 1", rubrics)
	}
}

func TestGetRubricVersionNewestPublished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)

	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "r", 1, observation.StatusPublished, testContent("One")), observation.AuditEntry{}))
	v2 := addVersion(t, st, "r", observation.StatusPublished, testContent("Two"))
	v3 := addVersion(t, st, "r", observation.StatusDraft, testContent("Three"))
	if v2.Version != 2 || v3.Version != 3 {
		t.Fatalf("versions %d, %d; want 2, 3", v2.Version, v3.Version)
	}

	got, err := st.GetRubricVersion(ctx, "r", 0)
	mustNoErr(t, err)
	if got.Version != 2 {
		t.Fatalf("newest published = v%d, want v2 (v3 is a draft)", got.Version)
	}
	assertSameVersion(t, got, v2)

	// Explicit versions are returned whatever their status.
	got, err = st.GetRubricVersion(ctx, "r", 3)
	mustNoErr(t, err)
	assertSameVersion(t, got, v3)

	// Retiring v2 makes v1 the newest published one.
	_, err = st.Pool().Exec(ctx, `UPDATE rubric_versions SET status = 'retired', retired_at = now() WHERE rubric_id = 'r' AND version = 2`)
	mustNoErr(t, err)
	got, err = st.GetRubricVersion(ctx, "r", 0)
	mustNoErr(t, err)
	if got.Version != 1 {
		t.Fatalf("newest published after retiring v2 = v%d, want v1", got.Version)
	}
}

func TestGetRubricVersionNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "drafty", 1, observation.StatusDraft, testContent("Drafty")), observation.AuditEntry{}))
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "pub", 1, observation.StatusPublished, testContent("Pub")), observation.AuditEntry{}))

	for _, c := range []struct {
		id      string
		version int
	}{
		{"nope", 0}, {"nope", 1}, {"pub", 2}, {"pub", -1}, {"drafty", 0}, // drafty has no published version
	} {
		_, err := st.GetRubricVersion(ctx, c.id, c.version)
		e := assertKind(t, err, observation.KindNotFound, "NOT_FOUND")
		if !errors.Is(err, observation.ErrNotFound) {
			t.Errorf("%s v%d: errors.Is(ErrNotFound) = false", c.id, c.version)
		}
		if e.Message == "" {
			t.Errorf("%s v%d: empty message", c.id, c.version)
		}
	}
}

func TestListRubrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)

	if got, err := st.ListRubrics(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}

	// Created out of order, so the ordering is the store's doing.
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "rb-b", 1, observation.StatusDraft, testContent("RB B draft")), observation.AuditEntry{}))
	mustNoErr(t, st.CreateRubric(ctx, newVersion(mesaVerde, "mv-a", 1, observation.StatusPublished, testContent("MV A")), observation.AuditEntry{}))
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "rb-a", 1, observation.StatusPublished, testContent("RB A v1")), observation.AuditEntry{}))
	addVersion(t, st, "rb-a", observation.StatusPublished, testContent("RB A v2"))
	addVersion(t, st, "rb-a", observation.StatusDraft, testContent("RB A v3 draft"))
	mustNoErr(t, st.CreateRubric(ctx, newVersion(lakeshore, "aaa", 1, observation.StatusPublished, testContent("LS")), observation.AuditEntry{}))
	created, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(now()))
	mustNoErr(t, err)
	if !created {
		t.Fatal("default rubric not created")
	}
	mustNoErr(t, st.CreateRubric(ctx, newVersion(observation.NetworkOwner, "zzz-net", 1, observation.StatusPublished, testContent("Net Z")), observation.AuditEntry{}))

	key := func(rs []observation.Rubric) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.OwnerID+"/"+r.ID)
		}
		return out
	}

	all, err := st.ListRubrics(ctx, nil)
	mustNoErr(t, err)
	wantAll := []string{"network/" + observation.DefaultRubricID, "network/zzz-net", lakeshore + "/aaa", mesaVerde + "/mv-a", riverbend + "/rb-a", riverbend + "/rb-b"}
	if got := key(all); !slices.Equal(got, wantAll) {
		t.Errorf("ListRubrics(nil) = %v, want %v", got, wantAll)
	}

	some, err := st.ListRubrics(ctx, []string{observation.NetworkOwner, riverbend})
	mustNoErr(t, err)
	wantSome := []string{"network/" + observation.DefaultRubricID, "network/zzz-net", riverbend + "/rb-a", riverbend + "/rb-b"}
	if got := key(some); !slices.Equal(got, wantSome) {
		t.Errorf("ListRubrics(network, riverbend) = %v, want %v", got, wantSome)
	}
	// The order of owners given does not matter.
	rev, err := st.ListRubrics(ctx, []string{riverbend, observation.NetworkOwner})
	mustNoErr(t, err)
	if got := key(rev); !slices.Equal(got, wantSome) {
		t.Errorf("ListRubrics(riverbend, network) = %v, want %v", got, wantSome)
	}

	only, err := st.ListRubrics(ctx, []string{mesaVerde})
	mustNoErr(t, err)
	if got := key(only); !slices.Equal(got, []string{mesaVerde + "/mv-a"}) {
		t.Errorf("ListRubrics(mesa) = %v", got)
	}
	none, err := st.ListRubrics(ctx, []string{})
	mustNoErr(t, err)
	if len(none) != 0 {
		t.Errorf("ListRubrics([]) = %v, want none (only nil means all)", key(none))
	}
	unknown, err := st.ListRubrics(ctx, []string{"no-such-district"})
	mustNoErr(t, err)
	if len(unknown) != 0 {
		t.Errorf("ListRubrics(unknown) = %v", key(unknown))
	}

	// Summaries: every version in order, newest published, and its title.
	var rbA, rbB observation.Rubric
	for _, r := range some {
		switch r.ID {
		case "rb-a":
			rbA = r
		case "rb-b":
			rbB = r
		}
	}
	var statuses []observation.VersionStatus
	var versions []int
	for _, v := range rbA.Versions {
		statuses = append(statuses, v.Status)
		versions = append(versions, v.Version)
		if len(v.ContentHash) != 64 || v.UpdatedAt.IsZero() {
			t.Errorf("rb-a v%d summary: hash %q updated %v", v.Version, v.ContentHash, v.UpdatedAt)
		}
	}
	if !slices.Equal(versions, []int{1, 2, 3}) ||
		!slices.Equal(statuses, []observation.VersionStatus{observation.StatusPublished, observation.StatusPublished, observation.StatusDraft}) {
		t.Errorf("rb-a versions %v %v", versions, statuses)
	}
	if rbA.LatestPublished != 2 || rbA.Title["en"] != "RB A v2" {
		t.Errorf("rb-a latest published %d title %v, want 2 and the v2 title", rbA.LatestPublished, rbA.Title)
	}
	if rbA.Versions[1].ContentHash != testContent("RB A v2").Hash() {
		t.Errorf("rb-a v2 summary hash %s", rbA.Versions[1].ContentHash)
	}
	if rbB.LatestPublished != 0 || rbB.Title["en"] != "RB B draft" || len(rbB.Versions) != 1 {
		t.Errorf("rb-b: latest %d title %v versions %d", rbB.LatestPublished, rbB.Title, len(rbB.Versions))
	}
}

func TestCreateVersionConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "busy", 1, observation.StatusPublished, testContent("Busy")), observation.AuditEntry{}))

	const n = 10
	var wg sync.WaitGroup
	got := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			v, err := st.CreateVersion(ctx, "busy", observation.AuditEntry{}, func(newest observation.RubricVersion) (observation.RubricVersion, error) {
				return newVersion(newest.OwnerID, "busy", newest.Version+1, observation.StatusDraft, testContent(fmt.Sprint("Busy ", i))), nil
			})
			got[i], errs[i] = v.Version, err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	slices.Sort(got)
	want := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if !slices.Equal(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}
	if c := countVersions(t, st, "busy"); c != n+1 {
		t.Errorf("%d versions stored, want %d", c, n+1)
	}
}

func TestCreateVersionPassesNewest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)
	mustNoErr(t, st.CreateRubric(ctx, newVersion(mesaVerde, "nv", 1, observation.StatusPublished, testContent("V1")), observation.AuditEntry{}))
	v2 := addVersion(t, st, "nv", observation.StatusDraft, testContent("V2"))

	var seen observation.RubricVersion
	v3, err := st.CreateVersion(ctx, "nv", observation.AuditEntry{}, func(newest observation.RubricVersion) (observation.RubricVersion, error) {
		seen = newest
		return newVersion(newest.OwnerID, "nv", newest.Version+1, observation.StatusDraft, newest.Content), nil
	})
	mustNoErr(t, err)
	assertSameVersion(t, seen, v2) // the newest version, draft or not
	got, err := st.GetRubricVersion(ctx, "nv", 3)
	mustNoErr(t, err)
	assertSameVersion(t, got, v3)
	if got.OwnerID != mesaVerde || got.ContentHash != v2.ContentHash {
		t.Errorf("v3 owner %s hash %s", got.OwnerID, got.ContentHash)
	}
}

func TestCreateVersionErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "r", 1, observation.StatusPublished, testContent("R")), observation.AuditEntry{}))

	called := false
	_, err := st.CreateVersion(ctx, "missing", observation.AuditEntry{}, func(observation.RubricVersion) (observation.RubricVersion, error) {
		called = true
		return observation.RubricVersion{}, nil
	})
	assertKind(t, err, observation.KindNotFound, "NOT_FOUND")
	if called {
		t.Error("callback called for a missing rubric")
	}

	// The callback's error is returned unchanged and nothing is written.
	denied := observation.Denied("no")
	_, err = st.CreateVersion(ctx, "r", observation.AuditEntry{}, func(observation.RubricVersion) (observation.RubricVersion, error) {
		return observation.RubricVersion{}, denied
	})
	if err != error(denied) {
		t.Errorf("got %v, want the callback's error", err)
	}
	assertKind(t, err, observation.KindPermissionDenied, "PERMISSION_DENIED")
	if c := countVersions(t, st, "r"); c != 1 {
		t.Errorf("%d versions after a failed callback, want 1", c)
	}

	// A callback that reuses an existing version number collides instead of overwriting.
	_, err = st.CreateVersion(ctx, "r", observation.AuditEntry{}, func(newest observation.RubricVersion) (observation.RubricVersion, error) {
		return newVersion(newest.OwnerID, "r", newest.Version, observation.StatusDraft, testContent("Clash")), nil
	})
	assertKind(t, err, observation.KindAlreadyExists, "")
	got, err := st.GetRubricVersion(ctx, "r", 1)
	mustNoErr(t, err)
	if got.Status != observation.StatusPublished || got.Content.Title["en"] != "R" {
		t.Errorf("v1 changed: %s %v", got.Status, got.Content.Title)
	}
}

func TestUpdateVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)
	orig := newVersion(riverbend, "u", 1, observation.StatusDraft, testContent("Original"))
	mustNoErr(t, st.CreateRubric(ctx, orig, observation.AuditEntry{}))
	before := versionRow(t, st, "u", 1)

	t.Run("callback error rolls back", func(t *testing.T) {
		boom := observation.Precondition("BOOM", "boom")
		_, err := st.UpdateVersion(ctx, "u", 1, observation.AuditEntry{}, func(v *observation.RubricVersion) error {
			t0 := now().Add(time.Hour)
			v.Content = testContent("Changed")
			v.ContentHash = v.Content.Hash()
			v.Status, v.PublishedAt, v.UpdatedAt = observation.StatusPublished, &t0, t0
			return boom
		})
		e := assertKind(t, err, observation.KindFailedPrecondition, "BOOM")
		if e != boom {
			t.Errorf("got %v, want the callback's error itself", err)
		}
		if after := versionRow(t, st, "u", 1); after != before {
			t.Errorf("row changed by a failed update: %+v, was %+v", after, before)
		}
	})

	t.Run("no-op callback writes nothing", func(t *testing.T) {
		var seen observation.RubricVersion
		got, err := st.UpdateVersion(ctx, "u", 1, observation.AuditEntry{}, func(v *observation.RubricVersion) error {
			seen = *v
			return nil
		})
		mustNoErr(t, err)
		assertSameVersion(t, seen, orig)
		assertSameVersion(t, got, orig)
		after := versionRow(t, st, "u", 1)
		if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Xmin != before.Xmin {
			t.Errorf("no-op update wrote the row: %+v, was %+v", after, before)
		}
	})

	t.Run("changes are stored", func(t *testing.T) {
		var want observation.RubricVersion
		got, err := st.UpdateVersion(ctx, "u", 1, observation.AuditEntry{}, func(v *observation.RubricVersion) error {
			v.Content = testContent("Edited")
			v.ContentHash = v.Content.Hash()
			v.UpdatedAt = now().Add(time.Minute)
			want = *v
			return nil
		})
		mustNoErr(t, err)
		assertSameVersion(t, got, want)
		read, err := st.GetRubricVersion(ctx, "u", 1)
		mustNoErr(t, err)
		assertSameVersion(t, read, want)
		if read.Content.Title["en"] != "Edited" {
			t.Errorf("title %v", read.Content.Title)
		}
	})

	t.Run("unknown version", func(t *testing.T) {
		called := false
		for _, c := range []struct {
			id string
			v  int
		}{{"u", 2}, {"nope", 1}, {"u", 0}} {
			_, err := st.UpdateVersion(ctx, c.id, c.v, observation.AuditEntry{}, func(*observation.RubricVersion) error { called = true; return nil })
			assertKind(t, err, observation.KindNotFound, "NOT_FOUND")
		}
		if called {
			t.Error("callback called for a missing version")
		}
	})
}

func TestEnsurePublishedRubricIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)

	v := observation.DefaultRubricVersion(now())
	created, err := st.EnsurePublishedRubric(ctx, v)
	mustNoErr(t, err)
	if !created {
		t.Fatal("first call did not create")
	}
	got, err := st.GetRubricVersion(ctx, observation.DefaultRubricID, 0)
	mustNoErr(t, err)
	assertSameVersion(t, got, v)

	// A second seed, even with other content, leaves the stored rubric alone.
	v2 := v
	v2.Content = testContent("Replaced")
	v2.ContentHash = v2.Content.Hash()
	created, err = st.EnsurePublishedRubric(ctx, v2)
	mustNoErr(t, err)
	if created {
		t.Error("second call reported created")
	}
	got, err = st.GetRubricVersion(ctx, observation.DefaultRubricID, 0)
	mustNoErr(t, err)
	assertSameVersion(t, got, v)
	if c := countVersions(t, st, observation.DefaultRubricID); c != 1 {
		t.Errorf("%d versions, want 1", c)
	}
}
