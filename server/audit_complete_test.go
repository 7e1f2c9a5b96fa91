package server_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// restAuditEntry is an audit entry as REST answers it.
type restAuditEntry struct {
	DistrictID   string         `json:"district_id"`
	Actor        string         `json:"actor"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Details      map[string]any `json:"details"`
}

// auditLog reads district d's audit entries of one action through REST, as token's holder.
func auditLog(t *testing.T, e *testenv.Env, token, d, action string) []restAuditEntry {
	t.Helper()
	r := e.Do(t, "GET", "/v1/districts/"+d+"/audit?page_size=1000&action="+url.QueryEscape(action), token, "")
	var out struct {
		Entries []restAuditEntry `json:"entries"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &out) != nil {
		t.Fatalf("audit log of %s: %d %s", d, r.Status, r.Body)
	}
	return out.Entries
}

// TestAuditCompleteness: reads of a district's classroom- and teacher-level data land in that
// district's log whoever reads them (network-level admins included, never in the network log);
// conflict lists and calibration reads with per-observer rows are audited; a refused attempt on
// another district's data is recorded in that district's log, and an attempt on a district that
// does not exist leaves nothing anywhere.
func TestAuditCompleteness(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach, principal, da := e.Users[observation.RoleCoach], e.Users[observation.RolePrincipal], e.Users[observation.RoleDistrictAdmin]
	admin, analyst := e.Users[observation.RoleAdmin], e.Users[observation.RoleNetworkAnalyst]
	home, other := da.DistrictID, otherDistrict(t, e)
	otherDA := observation.Principal{UserID: other + ".district-admin-x", Role: observation.RoleDistrictAdmin, DistrictID: other}
	daTok, adminTok := e.Token(t, da), e.Token(t, admin)

	// Records at the principal's site; a co-observed calibration lesson by the coach and the
	// principal; a conflict.
	var recs []observation.Record
	for _, r := range e.Records(t, 41, coach, 12) {
		if r.SiteID == principal.SiteIDs[0] {
			recs = append(recs, r)
		}
	}
	var room observation.Classroom
	for _, c := range e.Roster.Classrooms {
		if c.ID == recs[0].ClassroomID {
			room = c
		}
	}
	when := time.Now().UTC().Add(-3 * time.Hour)
	var groups []observation.StudentGroup
	for _, d := range e.Roster.Districts {
		if d.ID == home {
			groups = d.Settings.StudentGroups
		}
	}
	calib := func(p observation.Principal, seed int64) observation.Record {
		return synth.New(seed).Record(synth.Input{Classroom: room, Observer: p, Rubric: observation.DefaultRubricVersion(when),
			StudentGroups: groups, When: when, Kind: observation.KindCalibration, Status: observation.RecordSubmitted})
	}
	cc, pc := calib(coach, 1), calib(principal, 2)
	if cc.CoObservation == "" || cc.CoObservation != pc.CoObservation {
		t.Fatalf("co-observation keys %q %q", cc.CoObservation, pc.CoObservation)
	}
	tr, dev := e.Device(t, coach)
	if res, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, append(recs, cc)...)}); err != nil || res.Results[0].Status != sync.StatusApplied {
		t.Fatalf("push: %+v %v", res, err)
	}
	ptr, pdev := e.Device(t, principal)
	if res, err := ptr.Push(ctx, sync.PushRequest{DeviceID: pdev, Changes: testenv.Changes(1, pc)}); err != nil || res.Results[0].Status != sync.StatusApplied {
		t.Fatalf("push: %+v %v", res, err)
	}
	a, b := recs[1], recs[1]
	a.NextSteps, b.NextSteps = "amended on the first tablet", "amended on the second tablet"
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: []sync.Change{{Seq: int64(len(recs) + 2), Op: sync.OpUpsert, Record: a, ObservationID: a.ID, BaseRevision: 1}}}); err != nil {
		t.Fatal(err)
	}
	tr2, dev2 := e.Device(t, coach)
	if res, err := tr2.Push(ctx, sync.PushRequest{DeviceID: dev2, Changes: []sync.Change{{Seq: 1, Op: sync.OpUpsert, Record: b, ObservationID: b.ID, BaseRevision: 1}}}); err != nil || res.Results[0].Status != sync.StatusConflict {
		t.Fatalf("conflict: %+v %v", res, err)
	}

	// An admin lists and pulls the district's records: the entries are in the district's log.
	if r := e.Do(t, "GET", "/v1/observations?page_size=1000", adminTok, ""); r.Status != 200 {
		t.Fatalf("admin list: %d %s", r.Status, r.Body)
	}
	atr, adev := e.Device(t, admin)
	if page, err := atr.Pull(ctx, sync.PullRequest{DeviceID: adev}); err != nil || len(page.Upserts) == 0 {
		t.Fatalf("admin pull: %d records, %v", len(page.Upserts), err)
	}
	for _, action := range []string{"observation.list", "sync.pull"} {
		found := false
		for _, en := range auditLog(t, e, daTok, home, action) {
			if en.Actor == admin.UserID {
				ids, _ := en.Details["ids"].([]any)
				found = slices.Contains(ids, any(recs[0].ID)) && en.Details["count"] == float64(len(ids))
			}
		}
		if !found {
			t.Errorf("the admin's %s of %s's records is not in %s's log with their ids", action, home, home)
		}
		for _, en := range auditLog(t, e, adminTok, observation.NetworkOwner, action) {
			if en.Actor == admin.UserID {
				t.Errorf("the admin's %s of district records is in the network log: %+v", action, en)
			}
		}
	}

	// Conflict lists carry whole records: audited in the district's log, with the conflict ids.
	if r := e.Do(t, "GET", "/v1/conflicts", adminTok, ""); r.Status != 200 {
		t.Fatalf("conflicts: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/conflicts", daTok, ""); r.Status != 200 {
		t.Fatalf("conflicts: %d %s", r.Status, r.Body)
	}
	got := map[string]bool{}
	for _, en := range auditLog(t, e, daTok, home, "conflict.list") {
		if ids, _ := en.Details["ids"].([]any); len(ids) == 1 && en.Details["count"] == float64(1) {
			got[en.Actor] = true
		}
	}
	if !got[admin.UserID] || !got[da.UserID] {
		t.Errorf("conflict.list entries with the conflict by actor: %v", got)
	}

	// Calibration with per-observer rows: audited, naming whose rows were shown.
	for _, p := range []observation.Principal{da, admin, coach} {
		if r := e.Do(t, "GET", "/v1/districts/"+home+"/progress:calibration", e.Token(t, p), ""); r.Status != 200 {
			t.Fatalf("calibration as %s: %d %s", p.UserID, r.Status, r.Body)
		}
	}
	shown := map[string][]any{}
	for _, en := range auditLog(t, e, daTok, home, "progress.calibration.read") {
		shown[en.Actor], _ = en.Details["observers"].([]any)
	}
	if len(shown[da.UserID]) != 2 || len(shown[admin.UserID]) != 2 || !slices.Equal(shown[coach.UserID], []any{coach.UserID}) {
		t.Errorf("calibration reads audited with observers %v", shown)
	}

	// Refused attempts on the district's data from outside it: recorded in its log.
	refused := []struct {
		who  observation.Principal
		path string
	}{
		{otherDA, "/v1/districts/" + home + "/sites/" + principal.SiteIDs[0] + "/progress:classrooms"},
		{otherDA, "/v1/districts/" + home + "/staff"},
		{otherDA, "/v1/observations/" + recs[0].ID},
		{otherDA, "/v1/districts/" + other + "/progress?rubric_id=" + homeRubric(t, e, daTok)},
		{analyst, "/v1/districts/" + home + "/progress"},
	}
	for _, rf := range refused {
		if r := e.Do(t, "GET", rf.path, e.Token(t, rf.who), ""); r.Status != 404 && r.Status != 403 {
			t.Fatalf("%s as %s: %d %s", rf.path, rf.who.UserID, r.Status, r.Body)
		}
	}
	entries := auditLog(t, e, daTok, home, "access.refused")
	if len(entries) != len(refused) {
		t.Errorf("%d access.refused entries in %s's log, want %d: %+v", len(entries), home, len(refused), entries)
	}
	for _, en := range entries {
		if en.DistrictID != home || en.ResourceType != "rpc" || en.ResourceID == "" || (en.Actor != otherDA.UserID && en.Actor != analyst.UserID) {
			t.Errorf("access.refused entry %+v", en)
		}
	}
	// The caller's own district's log has none of them, and a district that does not exist gets
	// nothing (there is nowhere to put it, and the caller learns nothing either way).
	if r := e.Do(t, "GET", "/v1/districts/no-such-district/progress", e.Token(t, otherDA), ""); r.Status != 404 {
		t.Fatalf("a district that does not exist: %d %s", r.Status, r.Body)
	}
	if n := len(auditLog(t, e, adminTok, other, "access.refused")); n != 0 {
		t.Errorf("%d access.refused entries in the caller's own district's log", n)
	}
	if n := len(auditLog(t, e, adminTok, "no-such-district", "access.refused")); n != 0 {
		t.Errorf("%d access.refused entries for a district that does not exist", n)
	}
	// Refusals inside the caller's own district (a coach at another site) are not cross-district.
	for _, s := range e.Roster.Sites {
		if s.DistrictID == home && !slices.Contains(coach.SiteIDs, s.ID) {
			if r := e.Do(t, "GET", "/v1/districts/"+home+"/sites/"+s.ID, e.Token(t, coach), ""); r.Status != 404 {
				t.Fatalf("a coach reading another site: %d %s", r.Status, r.Body)
			}
		}
	}
	if n := len(auditLog(t, e, daTok, home, "access.refused")); n != len(refused) {
		t.Errorf("access.refused entries changed to %d", n)
	}
}

// homeRubric creates and publishes a rubric of the district admin's district and returns its id.
func homeRubric(t *testing.T, e *testenv.Env, daTok string) string {
	t.Helper()
	r := e.Do(t, "GET", "/v1/rubrics/"+observation.DefaultRubricID+"/versions/1?language=*", daTok, "")
	var got struct {
		Version struct {
			Content json.RawMessage `json:"content"`
		} `json:"version"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &got) != nil {
		t.Fatalf("default rubric: %d %s", r.Status, r.Body)
	}
	d := e.Users[observation.RoleDistrictAdmin].DistrictID
	if r := e.Do(t, "POST", "/v1/rubrics", daTok, `{"owner_id":"`+d+`","rubric_id":"home-audited","content":`+string(got.Version.Content)+`}`); r.Status != 200 {
		t.Fatalf("create rubric: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/v1/rubrics/home-audited/versions/1:publish", daTok, `{}`); r.Status != 200 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	return "home-audited"
}
