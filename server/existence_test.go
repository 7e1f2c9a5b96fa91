package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// existencePair is one route called twice by the same caller: once naming a resource that
// exists but is outside the caller's scope, once naming one that does not exist.
type existencePair struct {
	name            string
	caller          observation.Principal
	method          string
	hidden, missing string // paths
	hiddenBody      string
	missingBody     string
	hiddenID        string // the ids the answers may quote, replaced before comparing
	missingID       string
}

// TestOutOfScopeIsNonexistent: on every route that takes an id, a resource outside the
// caller's scope answers exactly as a nonexistent one — the same HTTP status and the same body,
// byte for byte apart from the id — so nobody learns what exists in another district, at another
// site, or among another observer's drafts.
func TestOutOfScopeIsNonexistent(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach, principal, da := e.Users[observation.RoleCoach], e.Users[observation.RolePrincipal], e.Users[observation.RoleDistrictAdmin]
	analyst := e.Users[observation.RoleNetworkAnalyst]
	home, other := da.DistrictID, otherDistrict(t, e)
	const nowhere = "no-such-district"
	otherDA := observation.Principal{UserID: other + ".district-admin-x", Role: observation.RoleDistrictAdmin, DistrictID: other}
	var otherSite, homeSite string
	for _, s := range e.Roster.Sites {
		if s.DistrictID == home && !slices.Contains(coach.SiteIDs, s.ID) {
			otherSite = s.ID
		}
		if s.DistrictID == home && slices.Contains(coach.SiteIDs, s.ID) {
			homeSite = s.ID
		}
	}
	daTok := e.Token(t, da)

	// A district rubric of home: one published, one draft.
	r := e.Do(t, "GET", "/v1/rubrics/"+observation.DefaultRubricID+"/versions/1?language=*", daTok, "")
	var got struct {
		Version struct {
			Content json.RawMessage `json:"content"`
		} `json:"version"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &got) != nil {
		t.Fatalf("default rubric: %d %s", r.Status, r.Body)
	}
	content := string(got.Version.Content)
	for _, id := range []string{"home-pub", "home-draft"} {
		if r := e.Do(t, "POST", "/v1/rubrics", daTok, `{"owner_id":"`+home+`","rubric_id":"`+id+`","content":`+content+`}`); r.Status != 200 {
			t.Fatalf("create rubric: %d %s", r.Status, r.Body)
		}
	}
	if r := e.Do(t, "POST", "/v1/rubrics/home-pub/versions/1:publish", daTok, `{}`); r.Status != 200 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	// A goal of home.
	goalBody := `{"title":"Press","dimension":"press","measure":"GOAL_MEASURE_MEAN_LEVEL","target":3,"target_date":"2027-06-30"}`
	r = e.Do(t, "POST", "/v1/districts/"+home+"/goals", daTok, goalBody)
	var goal struct {
		Goal struct {
			Goal struct {
				GoalID string `json:"goal_id"`
			} `json:"goal"`
		} `json:"goal"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &goal) != nil {
		t.Fatalf("create goal: %d %s", r.Status, r.Body)
	}
	goalID := goal.Goal.Goal.GoalID

	// The coach's records: one submitted at the principal's site, one draft, and a conflict on a
	// third.
	recs := e.Records(t, 31, coach, 12)
	var submitted, draft, contested observation.Record
	for _, rec := range recs {
		if rec.SiteID == principal.SiteIDs[0] {
			switch {
			case submitted.ID == "":
				submitted = rec
			case draft.ID == "":
				draft = rec
				draft.Status = observation.RecordDraft
			case contested.ID == "":
				contested = rec
			}
		}
	}
	if contested.ID == "" {
		t.Fatal("fewer than three records at the principal's site")
	}
	tr, dev := e.Device(t, coach)
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, submitted, draft, contested)}); err != nil {
		t.Fatal(err)
	}
	a, b := contested, contested
	a.NextSteps, b.NextSteps = "amended on the first tablet", "amended on the second tablet"
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: []sync.Change{{Seq: 4, Op: sync.OpUpsert, Record: a, ObservationID: a.ID, BaseRevision: 1}}}); err != nil {
		t.Fatal(err)
	}
	tr2, dev2 := e.Device(t, coach)
	resp, err := tr2.Push(ctx, sync.PushRequest{DeviceID: dev2, Changes: []sync.Change{{Seq: 1, Op: sync.OpUpsert, Record: b, ObservationID: b.ID, BaseRevision: 1}}})
	if err != nil || resp.Results[0].Status != sync.StatusConflict {
		t.Fatalf("conflict setup: %+v %v", resp, err)
	}
	conflictID := resp.Results[0].ConflictID

	newID := func() string { return uuid.Must(uuid.NewV7()).String() }
	missingObs, missingConflict, missingGoal, missingDevice := newID(), newID(), newID(), newID()
	missingSite := home + ".no-such-site"
	site := `{"name":"A site","grade_band":"K-5"}`
	views := []string{"progress", "progress:coverage", "progress:calibration", "progress:talk", "progress:export?view=goals&", "progress:export?view=coverage&"}
	q := func(path string) string {
		if strings.HasSuffix(path, "&") {
			return path
		}
		return path + "?"
	}
	pairs := []existencePair{
		// Observations: another observer's draft, another district's and another site's record.
		{name: "GetObservation: another observer's draft", caller: principal, method: "GET",
			hidden: "/v1/observations/" + draft.ID, missing: "/v1/observations/" + missingObs, hiddenID: draft.ID, missingID: missingObs},
		{name: "GetObservation: another district's record", caller: otherDA, method: "GET",
			hidden: "/v1/observations/" + submitted.ID, missing: "/v1/observations/" + missingObs, hiddenID: submitted.ID, missingID: missingObs},
		{name: "ListObservations: a site outside the coach's", caller: coach, method: "GET",
			hidden: "/v1/observations?site_id=" + otherSite, missing: "/v1/observations?site_id=" + missingSite, hiddenID: otherSite, missingID: missingSite},
		{name: "ListObservations: a classroom at a site outside the coach's", caller: coach, method: "GET",
			hidden: "/v1/observations?classroom_id=" + classroomAt(e, otherSite), missing: "/v1/observations?classroom_id=" + missingSite + ".c1",
			hiddenID: classroomAt(e, otherSite), missingID: missingSite + ".c1"},
		{name: "ListObservations: another district's site", caller: otherDA, method: "GET",
			hidden: "/v1/observations?site_id=" + homeSite, missing: "/v1/observations?site_id=" + missingSite, hiddenID: homeSite, missingID: missingSite},
		// Conflicts.
		{name: "ResolveConflict: another district's", caller: otherDA, method: "POST",
			hidden: "/v1/conflicts/" + conflictID + ":resolve", missing: "/v1/conflicts/" + missingConflict + ":resolve",
			hiddenBody: `{"choice":"CONFLICT_CHOICE_KEEP_SERVER"}`, missingBody: `{"choice":"CONFLICT_CHOICE_KEEP_SERVER"}`, hiddenID: conflictID, missingID: missingConflict},
		// Devices: another user's device answers like an unregistered one.
		{name: "Pull: another user's device", caller: principal, method: "POST", hidden: "/v1/sync:pull", missing: "/v1/sync:pull",
			hiddenBody: `{"device_id":"` + dev + `"}`, missingBody: `{"device_id":"` + missingDevice + `"}`, hiddenID: dev, missingID: missingDevice},
		{name: "Push: another user's device", caller: principal, method: "POST", hidden: "/v1/sync:push", missing: "/v1/sync:push",
			hiddenBody: `{"device_id":"` + dev + `"}`, missingBody: `{"device_id":"` + missingDevice + `"}`, hiddenID: dev, missingID: missingDevice},
		{name: "Reconcile: another user's device", caller: principal, method: "POST", hidden: "/v1/sync:reconcile", missing: "/v1/sync:reconcile",
			hiddenBody: `{"device_id":"` + dev + `"}`, missingBody: `{"device_id":"` + missingDevice + `"}`, hiddenID: dev, missingID: missingDevice},
		// Audit.
		{name: "ListAuditEntries: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/audit", missing: "/v1/districts/" + nowhere + "/audit", hiddenID: home, missingID: nowhere},
		// Rubrics: create for another district (or none), and every version route.
		{name: "CreateRubric: for another district", caller: otherDA, method: "POST", hidden: "/v1/rubrics", missing: "/v1/rubrics",
			hiddenBody:  `{"owner_id":"` + home + `","rubric_id":"x-1","content":` + content + `}`,
			missingBody: `{"owner_id":"` + nowhere + `","rubric_id":"x-1","content":` + content + `}`, hiddenID: home, missingID: nowhere},
		// Goals.
		{name: "ListGoals: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/goals", missing: "/v1/districts/" + nowhere + "/goals", hiddenID: home, missingID: nowhere},
		{name: "CreateGoal: another district", caller: otherDA, method: "POST", hiddenBody: goalBody, missingBody: goalBody,
			hidden: "/v1/districts/" + home + "/goals", missing: "/v1/districts/" + nowhere + "/goals", hiddenID: home, missingID: nowhere},
		{name: "UpdateGoal: another district's goal in its district", caller: otherDA, method: "PUT", hiddenBody: goalBody, missingBody: goalBody,
			hidden: "/v1/districts/" + home + "/goals/" + goalID, missing: "/v1/districts/" + nowhere + "/goals/" + missingGoal, hiddenID: home, missingID: nowhere},
		{name: "UpdateGoal: another district's goal in one's own", caller: otherDA, method: "PUT", hiddenBody: goalBody, missingBody: goalBody,
			hidden: "/v1/districts/" + other + "/goals/" + goalID, missing: "/v1/districts/" + other + "/goals/" + missingGoal, hiddenID: goalID, missingID: missingGoal},
		{name: "CreateGoal: another district's rubric", caller: otherDA, method: "POST",
			hiddenBody:  `{"title":"Press","rubric_id":"home-pub","dimension":"press","measure":"GOAL_MEASURE_MEAN_LEVEL","target":3,"target_date":"2027-06-30"}`,
			missingBody: `{"title":"Press","rubric_id":"no-such-rubric","dimension":"press","measure":"GOAL_MEASURE_MEAN_LEVEL","target":3,"target_date":"2027-06-30"}`,
			hidden:      "/v1/districts/" + other + "/goals", missing: "/v1/districts/" + other + "/goals", hiddenID: "home-pub", missingID: "no-such-rubric"},
		// Sites, classrooms, staff, settings, student groups.
		{name: "GetSite: another site", caller: coach, method: "GET",
			hidden: "/v1/districts/" + home + "/sites/" + otherSite, missing: "/v1/districts/" + home + "/sites/" + missingSite, hiddenID: otherSite, missingID: missingSite},
		{name: "GetSite: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/sites/" + homeSite, missing: "/v1/districts/" + nowhere + "/sites/" + homeSite, hiddenID: home, missingID: nowhere},
		{name: "ListSites: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/sites", missing: "/v1/districts/" + nowhere + "/sites", hiddenID: home, missingID: nowhere},
		{name: "UpsertSite: another district", caller: otherDA, method: "PUT", hiddenBody: site, missingBody: site,
			hidden: "/v1/districts/" + home + "/sites/" + homeSite, missing: "/v1/districts/" + nowhere + "/sites/" + homeSite, hiddenID: home, missingID: nowhere},
		{name: "ListClassrooms: another site", caller: coach, method: "GET",
			hidden: "/v1/districts/" + home + "/sites/" + otherSite + "/classrooms", missing: "/v1/districts/" + home + "/sites/" + missingSite + "/classrooms", hiddenID: otherSite, missingID: missingSite},
		{name: "ListClassrooms: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/classrooms", missing: "/v1/districts/" + nowhere + "/classrooms", hiddenID: home, missingID: nowhere},
		{name: "UpsertClassroom: another district", caller: otherDA, method: "PUT",
			hiddenBody: `{"site_id":"` + homeSite + `","course":"Math","grade":"3","section":"A"}`, missingBody: `{"site_id":"` + homeSite + `","course":"Math","grade":"3","section":"A"}`,
			hidden: "/v1/districts/" + home + "/classrooms/" + homeSite + ".c1", missing: "/v1/districts/" + nowhere + "/classrooms/" + homeSite + ".c1", hiddenID: home, missingID: nowhere},
		{name: "ListStaff: another site", caller: coach, method: "GET",
			hidden: "/v1/districts/" + home + "/staff?site_id=" + otherSite, missing: "/v1/districts/" + home + "/staff?site_id=" + missingSite, hiddenID: otherSite, missingID: missingSite},
		{name: "ListStaff: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/staff", missing: "/v1/districts/" + nowhere + "/staff", hiddenID: home, missingID: nowhere},
		{name: "UpsertStaff: another district", caller: otherDA, method: "PUT",
			hiddenBody: `{"given_name":"A","family_name":"B","role":"STAFF_ROLE_TEACHER"}`, missingBody: `{"given_name":"A","family_name":"B","role":"STAFF_ROLE_TEACHER"}`,
			hidden: "/v1/districts/" + home + "/staff/" + home + ".t-x", missing: "/v1/districts/" + nowhere + "/staff/" + home + ".t-x", hiddenID: home, missingID: nowhere},
		{name: "GetDistrictSettings: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/settings", missing: "/v1/districts/" + nowhere + "/settings", hiddenID: home, missingID: nowhere},
		{name: "UpdateDistrictSettings: another district", caller: otherDA, method: "PATCH", hiddenBody: `{"suppression_threshold":20}`, missingBody: `{"suppression_threshold":20}`,
			hidden: "/v1/districts/" + home + "/settings?update_mask=suppression_threshold", missing: "/v1/districts/" + nowhere + "/settings?update_mask=suppression_threshold", hiddenID: home, missingID: nowhere},
		{name: "ListStudentGroups: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/student_groups", missing: "/v1/districts/" + nowhere + "/student_groups", hiddenID: home, missingID: nowhere},
		{name: "UpsertStudentGroup: another district", caller: otherDA, method: "PUT", hiddenBody: `{"label":"A group"}`, missingBody: `{"label":"A group"}`,
			hidden: "/v1/districts/" + home + "/student_groups/g1", missing: "/v1/districts/" + nowhere + "/student_groups/g1", hiddenID: home, missingID: nowhere},
		{name: "BulkUpsertRoster: another district", caller: otherDA, method: "POST", hiddenBody: `{}`, missingBody: `{}`,
			hidden: "/v1/districts/" + home + "/roster:bulkUpsert", missing: "/v1/districts/" + nowhere + "/roster:bulkUpsert", hiddenID: home, missingID: nowhere},
		// Progress: site views of another site, trends of another district.
		{name: "GetSiteTrends: another site", caller: coach, method: "GET",
			hidden: "/v1/districts/" + home + "/sites/" + otherSite + "/progress:trends", missing: "/v1/districts/" + home + "/sites/" + missingSite + "/progress:trends", hiddenID: otherSite, missingID: missingSite},
		{name: "GetClassroomProgress: another site", caller: coach, method: "GET",
			hidden: "/v1/districts/" + home + "/sites/" + otherSite + "/progress:classrooms", missing: "/v1/districts/" + home + "/sites/" + missingSite + "/progress:classrooms", hiddenID: otherSite, missingID: missingSite},
		{name: "GetSiteTrends: another district", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + home + "/sites/" + homeSite + "/progress:trends", missing: "/v1/districts/" + nowhere + "/sites/" + homeSite + "/progress:trends", hiddenID: home, missingID: nowhere},
		{name: "GetSiteTrends: another district's rubric", caller: otherDA, method: "GET",
			hidden: "/v1/districts/" + other + "/sites/" + otherSiteOf(e, other) + "/progress:trends?rubric_id=home-pub", missing: "/v1/districts/" + other + "/sites/" + otherSiteOf(e, other) + "/progress:trends?rubric_id=no-such-rubric", hiddenID: "home-pub", missingID: "no-such-rubric"},
		{name: "GetNetworkMeasures: a district's rubric", caller: analyst, method: "GET",
			hidden: "/v1/network/progress?rubric_id=home-pub", missing: "/v1/network/progress?rubric_id=no-such-rubric", hiddenID: "home-pub", missingID: "no-such-rubric"},
		{name: "ExportProgressCsv (network): a district's rubric", caller: analyst, method: "GET",
			hidden: "/v1/network/progress:export?rubric_id=home-pub", missing: "/v1/network/progress:export?rubric_id=no-such-rubric", hiddenID: "home-pub", missingID: "no-such-rubric"},
	}
	for _, v := range views {
		pairs = append(pairs,
			existencePair{name: v + ": another district", caller: otherDA, method: "GET",
				hidden: "/v1/districts/" + home + "/" + v, missing: "/v1/districts/" + nowhere + "/" + v, hiddenID: home, missingID: nowhere},
			existencePair{name: v + ": another district's rubric", caller: otherDA, method: "GET",
				hidden: "/v1/districts/" + other + "/" + q(v) + "rubric_id=home-pub", missing: "/v1/districts/" + other + "/" + q(v) + "rubric_id=no-such-rubric", hiddenID: "home-pub", missingID: "no-such-rubric"},
			existencePair{name: v + ": another site", caller: coach, method: "GET",
				hidden: "/v1/districts/" + home + "/" + q(v) + "site_id=" + otherSite, missing: "/v1/districts/" + home + "/" + q(v) + "site_id=" + missingSite, hiddenID: otherSite, missingID: missingSite},
		)
	}
	// Rubric versions: a district's published rubric from another district, a draft from a coach.
	for _, c := range []struct {
		who    string
		caller observation.Principal
		rubric string
	}{{"another district's rubric", otherDA, "home-pub"}, {"a draft", coach, "home-draft"}, {"another district's draft", otherDA, "home-draft"}} {
		for _, rt := range []struct{ method, path, body string }{
			{"GET", "/versions/1", ""}, {"GET", "/versions/latest", ""}, {"GET", "/versions/9", ""},
			{"PUT", "/versions/1", `{"content":` + content + `}`}, {"POST", "/versions/1:publish", `{}`},
			{"POST", "/versions/1:retire", `{}`}, {"POST", "/versions", `{}`}, {"POST", "/versions/9:publish", `{}`},
		} {
			pairs = append(pairs, existencePair{name: rt.method + " rubric" + rt.path + ": " + c.who, caller: c.caller, method: rt.method,
				hidden: "/v1/rubrics/" + c.rubric + rt.path, missing: "/v1/rubrics/no-such-rubric" + rt.path,
				hiddenBody: rt.body, missingBody: rt.body, hiddenID: c.rubric, missingID: "no-such-rubric"})
		}
	}

	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			tok := e.Token(t, p.caller)
			h := e.Do(t, p.method, p.hidden, tok, p.hiddenBody)
			m := e.Do(t, p.method, p.missing, tok, p.missingBody)
			hb := strings.ReplaceAll(h.Body, p.hiddenID, "ID")
			mb := strings.ReplaceAll(m.Body, p.missingID, "ID")
			if h.Status != m.Status || hb != mb {
				t.Errorf("out of scope and nonexistent answer differently:\n%s %s → %d %s\n%s %s → %d %s",
					p.method, p.hidden, h.Status, h.Body, p.method, p.missing, m.Status, m.Body)
			}
			if h.Status >= 500 {
				t.Errorf("%s %s → %d %s", p.method, p.hidden, h.Status, h.Body)
			}
		})
	}

	// The same over gRPC, status compared field by field (code, message, every detail).
	oc := pb.NewObservationServiceClient(e.GRPC)
	rc := pb.NewRubricServiceClient(e.GRPC)
	grpcPairs := []struct {
		name            string
		caller          observation.Principal
		call            func(ctx context.Context, id string) error
		hidden, missing string
	}{
		{"GetObservation: another observer's draft", principal, func(ctx context.Context, id string) error {
			_, err := oc.GetObservation(ctx, &pb.GetObservationRequest{ObservationId: id})
			return err
		}, draft.ID, missingObs},
		{"ResolveConflict: another district's", otherDA, func(ctx context.Context, id string) error {
			_, err := oc.ResolveConflict(ctx, &pb.ResolveConflictRequest{ConflictId: id, Choice: pb.ConflictChoice_CONFLICT_CHOICE_KEEP_SERVER})
			return err
		}, conflictID, missingConflict},
		{"PublishVersion: a draft", coach, func(ctx context.Context, id string) error {
			_, err := rc.PublishVersion(ctx, &pb.PublishVersionRequest{RubricId: id, Version: 1})
			return err
		}, "home-draft", "no-such-rubric"},
		{"CreateRubric: for another district", otherDA, func(ctx context.Context, id string) error {
			_, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: id, RubricId: "x-2"})
			return err
		}, home, nowhere},
	}
	for _, p := range grpcPairs {
		ctx := testenv.Ctx(e.Token(t, p.caller))
		norm := func(err error, id string) string {
			st, _ := status.FromError(err)
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(st.Proto())
			return strings.ReplaceAll(string(b), id, strings.Repeat("#", len(id)))
		}
		hs, ms := p.call(ctx, p.hidden), p.call(ctx, p.missing)
		if hs == nil || ms == nil {
			t.Fatalf("gRPC %s: out of scope %v, nonexistent %v", p.name, hs, ms)
		}
		// Ids of equal length: the encoded statuses must be equal byte for byte.
		if len(p.hidden) == len(p.missing) && norm(hs, p.hidden) != norm(ms, p.missing) {
			t.Errorf("gRPC %s: out of scope %v, nonexistent %v", p.name, hs, ms)
		}
		if a, b := status.Convert(hs), status.Convert(ms); a.Code() != b.Code() ||
			strings.ReplaceAll(a.Message(), p.hidden, "ID") != strings.ReplaceAll(b.Message(), p.missing, "ID") ||
			len(a.Details()) != len(b.Details()) || reasonOf(a) != reasonOf(b) {
			t.Errorf("gRPC %s: out of scope %v %v, nonexistent %v %v", p.name, a.Proto(), a.Details(), b.Proto(), b.Details())
		}
	}
}

// TestCreateRubricNeedsDistrict: a rubric cannot be created for a district that does not exist,
// even by an admin, and the answer is the one an outsider gets for an existing district.
func TestCreateRubricNeedsDistrict(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	admin := e.TokenFor(t, observation.RoleAdmin)
	r := e.Do(t, "GET", "/v1/rubrics/"+observation.DefaultRubricID+"/versions/1?language=*", admin, "")
	var got struct {
		Version struct {
			Content json.RawMessage `json:"content"`
		} `json:"version"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &got) != nil {
		t.Fatalf("default rubric: %d %s", r.Status, r.Body)
	}
	body := func(owner, id string) string {
		return `{"owner_id":"` + owner + `","rubric_id":"` + id + `","content":` + string(got.Version.Content) + `}`
	}
	r = e.Do(t, "POST", "/v1/rubrics", admin, body("no-such-district", "orphan"))
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if r.Status != 404 || json.Unmarshal([]byte(r.Body), &st) != nil || st.Code != 5 || st.Message != `district "no-such-district" not found` {
		t.Errorf("admin creating a rubric for a district that does not exist: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/rubrics/orphan/versions/1", admin, ""); r.Status != 404 {
		t.Errorf("the refused rubric exists: %d %s", r.Status, r.Body)
	}
	// The network and existing districts still get rubrics.
	for _, owner := range []string{observation.NetworkOwner, e.Users[observation.RoleDistrictAdmin].DistrictID} {
		if r := e.Do(t, "POST", "/v1/rubrics", admin, body(owner, "for-"+owner)); r.Status != 200 {
			t.Errorf("admin creating a rubric for %s: %d %s", owner, r.Status, r.Body)
		}
	}
}

// classroomAt returns a classroom of site.
func classroomAt(e *testenv.Env, site string) string {
	for _, c := range e.Roster.Classrooms {
		if c.SiteID == site {
			return c.ID
		}
	}
	return ""
}

// otherSiteOf returns a site of district d.
func otherSiteOf(e *testenv.Env, d string) string {
	for _, s := range e.Roster.Sites {
		if s.DistrictID == d {
			return s.ID
		}
	}
	return ""
}
