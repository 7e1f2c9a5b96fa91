package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/export"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/seedgen"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// TestDistrictExportImportReproducesViews takes a district's data out through REST in several
// archives (a resumed export), imports them into an empty database, and asks a server on that
// database for every progress view the district's people read: each answers exactly what the
// original answers. It also checks who may export and that each export is audited.
func TestDistrictExportImportReproducesViews(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach, da := e.Users[observation.RoleCoach], e.Users[observation.RoleDistrictAdmin]
	d := da.DistrictID
	daTok := e.Token(t, da)

	// A school year of observations across the demo network (co-observed lessons included)...
	seedYear(t, e, 900)
	// ...and through sync: an amended record (two revisions), a conflicting amendment kept for a
	// person, a deletion.
	trC, devC := e.Device(t, coach)
	trD, devD := e.Device(t, da)
	recs := e.Records(t, 61, coach, 4)
	sgApplied(t, sgPush(t, trC, devC, "", testenv.Changes(1, recs...)...).Results, 1, false, recs...)
	am := recs[0]
	am.NextSteps = "coach amendment: plan a follow-up visit"
	sgPush(t, trC, devC, "", sync.Change{Seq: 5, Op: sync.OpUpsert, Record: am, ObservationID: am.ID, BaseRevision: 1},
		sync.Change{Seq: 6, Op: sync.OpDelete, ObservationID: recs[1].ID, BaseRevision: 1})
	stale := recs[0]
	stale.LessonFocus = "district admin's amendment from the same base"
	if res := sgPush(t, trD, devD, "", sync.Change{Seq: 1, Op: sync.OpUpsert, Record: stale, ObservationID: stale.ID, BaseRevision: 1}); res.Results[0].Status != sync.StatusConflict {
		t.Fatalf("stale amendment: %+v, want a conflict", res.Results[0])
	}
	goal := `{"title":"Press","dimension":"press","measure":"GOAL_MEASURE_MEAN_LEVEL","target":3,"target_date":"2027-06-30"}`
	if r := e.Do(t, "POST", "/v1/districts/"+d+"/goals", daTok, goal); r.Status != 200 {
		t.Fatalf("goal: %d %s", r.Status, r.Body)
	}

	// Who may export: the district's admins; its other people are refused, other districts'
	// admins are told it does not exist.
	if r := e.Do(t, "GET", "/v1/districts/"+d+"/export", e.Token(t, coach), ""); r.Status != 403 {
		t.Fatalf("coach export: %d %s, want 403", r.Status, r.Body)
	}
	other := observation.Principal{UserID: "other-da", Role: observation.RoleDistrictAdmin, DistrictID: otherDistrict(t, e)}
	if r := e.Do(t, "GET", "/v1/districts/"+d+"/export", e.Token(t, other), ""); r.Status != 404 {
		t.Fatalf("other district's admin: %d %s, want 404", r.Status, r.Body)
	}
	// Refusals have the body of every other route's errors: the status itself, with the field.
	if r := e.Do(t, "GET", "/v1/districts/"+d+"/export?after=nope", daTok, ""); r.Status != 400 || !strings.HasPrefix(r.Body, `{"code":3`) ||
		!strings.Contains(r.Body, `"field":"after"`) {
		t.Fatalf("bad after: %d %s, want 400 naming after", r.Status, r.Body)
	}

	// The export in archives of at most 150 observations, each continuing after the last.
	var archives []export.Archive
	var observations int64
	after := ""
	for i := 0; ; i++ {
		q := url.Values{"max_observations": {"150"}}
		if after != "" {
			q.Set("after", after)
		}
		r := e.Do(t, "GET", "/v1/districts/"+d+"/export?"+q.Encode(), daTok, "")
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/zip" || !strings.Contains(r.Header.Get("Content-Disposition"), ".zip") {
			t.Fatalf("archive %d: %d %v %.300s", i, r.Status, r.Header, r.Body)
		}
		z, err := zip.NewReader(bytes.NewReader([]byte(r.Body)), int64(len(r.Body)))
		if err != nil {
			t.Fatalf("archive %d is not a zip: %v (%d bytes: %q ... %q)", i, err, len(r.Body), r.Body[:min(200, len(r.Body))], r.Body[max(0, len(r.Body)-300):])
		}
		a := export.Archive{Name: fmt.Sprintf("archive-%d.zip", i), Zip: z}
		archives = append(archives, a)
		m := readManifest(t, z)
		checkArchive(t, z, m, i == 0)
		observations += partRows(m, "observations")
		if m.Complete {
			break
		}
		after = m.NextAfter
		if i > 20 {
			t.Fatal("the export never completes")
		}
	}
	var stored int64
	if err := e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM observations WHERE district_id = $1`, d).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(archives) < 2 || observations != stored {
		t.Fatalf("%d archives with %d observations; the district has %d (the test needs more than one archive)", len(archives), observations, stored)
	}
	audited := sgCount(t, e, `SELECT count(*) FROM audit_log WHERE district_id = $1 AND action = 'district.export' AND actor = $2`, d, da.UserID)
	if audited != len(archives) {
		t.Fatalf("%d exports audited, want %d", audited, len(archives))
	}

	// Into an empty database; an archive missing from the sequence, or a second import, is refused.
	st2 := pgtest.NewStore(t)
	if _, _, err := export.Import(ctx, st2, archives[:len(archives)-1]); err == nil || !strings.Contains(err.Error(), "fetch the next archive") {
		t.Fatalf("import without the last archive: %v", err)
	}
	if _, _, err := export.Import(ctx, st2, archives[1:]); err == nil || !strings.Contains(err.Error(), "first archive") {
		t.Fatalf("import without the first archive: %v", err)
	}
	got, counts, err := export.Import(ctx, st2, archives)
	if err != nil || got != d {
		t.Fatalf("import: %s %v", got, err)
	}
	t.Logf("imported %v", counts)
	if _, _, err := export.Import(ctx, st2, archives); err == nil || !strings.Contains(err.Error(), "already in this database") {
		t.Fatalf("second import: %v", err)
	}
	for _, table := range []string{"observations", "observation_revisions", "conflicts", "staff", "classrooms", "progress_goals"} {
		q := `SELECT count(*) FROM ` + table + ` WHERE district_id = $1`
		var a, b int
		if err := e.Store.Pool().QueryRow(ctx, q, d).Scan(&a); err != nil {
			t.Fatal(err)
		}
		if err := st2.Pool().QueryRow(ctx, q, d).Scan(&b); err != nil {
			t.Fatal(err)
		}
		if a != b || a == 0 {
			t.Errorf("%s: %d rows in the original, %d imported", table, a, b)
		}
	}

	// Records come back byte for byte as the server wrote them: the canonical JSON whose SHA-256
	// is their content hash.
	contents := func(st *store.Store) map[string]string {
		t.Helper()
		rows, err := st.Pool().Query(ctx, `SELECT observation_id::text, content::text, content_hash FROM observations WHERE district_id = $1`, d)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var id, content, hash string
			if err := rows.Scan(&id, &content, &hash); err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256([]byte(content)); hex.EncodeToString(sum[:]) != hash {
				t.Fatalf("observation %s is not stored as written: its content does not hash to %s", id, hash)
			}
			out[id] = content
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if a, b := contents(e.Store), contents(st2); !maps.Equal(a, b) {
		t.Errorf("imported observations' content differs from the original's (%d and %d records)", len(a), len(b))
	}

	// Every view the district's people read answers the same on both databases.
	compareViews(t, e, testenv.StartPrepared(t, st2, e.Key, e.Roster), d)
}

// compareViews asks both servers for every progress view of district d — as its district admin,
// and the classroom views as a site principal — for the school year and for last month, as JSON
// and as CSV, and fails on any difference.
func compareViews(t *testing.T, e, e2 *testenv.Env, d string) {
	t.Helper()
	da, principal := e.Users[observation.RoleDistrictAdmin], e.Users[observation.RolePrincipal]
	var paths []string
	sites := map[string]bool{}
	for _, s := range e.Roster.Sites {
		if s.DistrictID == d {
			sites[s.ID] = true
		}
	}
	month := "period.kind=month&period.key=" + url.QueryEscape(time.Now().UTC().AddDate(0, -1, 0).Format("2006-01"))
	for _, period := range []string{"", month} {
		for _, v := range []string{"progress", "progress:coverage", "progress:calibration", "progress:talk"} {
			paths = append(paths, "/v1/districts/"+d+"/"+v+"?"+period)
		}
		for s := range sites {
			paths = append(paths, "/v1/districts/"+d+"/sites/"+s+"/progress:trends?"+period)
		}
		for _, view := range []string{"district_progress", "coverage", "calibration", "talk_equity", "goals"} {
			paths = append(paths, "/v1/districts/"+d+"/progress:export?view="+view+"&"+period)
		}
	}
	paths = append(paths, "/v1/districts/"+d+"/goals")
	slices.Sort(paths)
	for _, p := range paths {
		compareView(t, e, e2, da, p)
	}
	for _, s := range principal.SiteIDs {
		compareView(t, e, e2, principal, "/v1/districts/"+d+"/sites/"+s+"/progress:classrooms")
		compareView(t, e, e2, principal, "/v1/districts/"+d+"/progress:export?view=classrooms&site_id="+s)
	}
}

// seedYear loads n generated observations of this school year across the demo network, as
// lookfor seed does (co-observed lessons included).
func seedYear(t *testing.T, e *testenv.Env, n int) {
	t.Helper()
	ctx := context.Background()
	rv, err := e.Store.GetRubricVersion(ctx, observation.DefaultRubricID, 1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	yearStart := time.Date(now.Year(), time.August, 1, 0, 0, 0, 0, time.UTC)
	if now.Month() < time.August {
		yearStart = yearStart.AddDate(-1, 0, 0)
	}
	if now.Sub(yearStart) < 30*24*time.Hour {
		yearStart = yearStart.AddDate(-1, 0, 0)
	}
	plan, err := seedgen.New(e.Roster, rv, 16, n, yearStart, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Load(ctx, e.Store, seedgen.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
}

var asOf = regexp.MustCompile(`"data_as_of":\s*("[^"]*"|null),?\s*`)

// compareView asks both servers for path as p and fails unless both answer 200 with the same body.
func compareView(t *testing.T, a, b *testenv.Env, p observation.Principal, path string) {
	t.Helper()
	ra, rb := a.Do(t, "GET", path, a.Token(t, p), ""), b.Do(t, "GET", path, b.Token(t, p), "")
	if ra.Status != 200 || rb.Status != 200 {
		t.Errorf("%s: %d / %d: %.200s / %.200s", path, ra.Status, rb.Status, ra.Body, rb.Body)
		return
	}
	// data_as_of says when each server read its view, not what it counted.
	ra.Body, rb.Body = asOf.ReplaceAllString(ra.Body, ""), asOf.ReplaceAllString(rb.Body, "")
	if ra.Body != rb.Body {
		t.Errorf("%s differs after the import:\noriginal: %.600s\nimported: %.600s", path, ra.Body, rb.Body)
	}
	if len(ra.Body) < 50 {
		t.Errorf("%s: suspiciously short answer %q", path, ra.Body)
	}
}

func readManifest(t *testing.T, z *zip.Reader) export.Manifest {
	t.Helper()
	f, err := z.Open(export.ManifestName)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m export.Manifest
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func partRows(m export.Manifest, name string) int64 {
	for _, p := range m.Parts {
		if p.Name == name {
			return p.Rows
		}
	}
	return -1
}

// checkArchive checks the parts an archive holds and that each CSV has a row per JSON line.
func checkArchive(t *testing.T, z *zip.Reader, m export.Manifest, first bool) {
	t.Helper()
	for _, p := range export.Parts {
		n := partRows(m, p.Name)
		if p.FirstOnly && !first {
			if n != -1 {
				t.Errorf("%s in a continuing archive", p.Name)
			}
			continue
		}
		if n < 0 {
			t.Errorf("archive lacks %s", p.Name)
			continue
		}
		for _, ext := range []string{".jsonl", ".csv"} {
			f, err := z.Open(p.Name + ext)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(f)
			f.Close()
			lines := int64(strings.Count(buf.String(), "\n"))
			if ext == ".csv" && p.Name != "observations" && p.Name != "observation_revisions" && p.Name != "conflicts" && p.Name != "district" {
				lines-- // the header; text fields with line breaks only in records and settings
				if lines != n {
					t.Errorf("%s.csv has %d rows, the manifest says %d", p.Name, lines, n)
				}
			}
			if ext == ".jsonl" && lines != n {
				t.Errorf("%s.jsonl has %d lines, the manifest says %d", p.Name, lines, n)
			}
		}
	}
}
