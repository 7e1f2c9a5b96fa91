package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// ---------------------------------------------------------------------------------------------
// REST routes

func TestRosterREST(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	daTok, coachTok, analystTok := e.TokenFor(t, observation.RoleDistrictAdmin), e.TokenFor(t, observation.RoleCoach), e.TokenFor(t, observation.RoleNetworkAnalyst)
	base := "/v1/districts/" + rbDistrict

	r := e.Do(t, "PUT", base+"/sites/rest-es", daTok, `{"name":"REST Elementary","grade_band":"K-5"}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	var us pb.UpsertSiteResponse
	decode(t, r.Body, &us)
	if us.GetSite().GetSiteId() != "rest-es" || us.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_CREATED {
		t.Fatalf("PUT site: %s", r.Body)
	}
	r = e.Do(t, "PUT", base+"/sites/rest-es", daTok, `{"name":"REST Elementary","grade_band":"K-5"}`)
	var again pb.UpsertSiteResponse
	decode(t, r.Body, &again)
	if again.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED || !again.GetSite().GetUpdateTime().AsTime().Equal(us.GetSite().GetUpdateTime().AsTime()) {
		t.Fatalf("PUT again: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/sites/rest-es", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)

	r = e.Do(t, "PUT", base+"/staff/rest-t1", daTok, `{"given_name":"Rosa","family_name":"Parks","role":"STAFF_ROLE_TEACHER","site_ids":["rest-es"]}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	r = e.Do(t, "PUT", base+"/classrooms/rest-es.g2-a", daTok, `{"site_id":"rest-es","course":"Mathematics 2","grade":"2","section":"A","teacher_id":"rest-t1"}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	r = e.Do(t, "PUT", base+"/classrooms/rest-es.g3-a", daTok, `{"site_id":"rest-es","course":"Mathematics 3","teacher_id":"`+rbDistrict+`.coach-1"}`)
	st := wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
	if v := violationsOf(st); !slices.Equal(v, []string{"classroom.teacher_id"}) || !strings.Contains(st.Message(), "not a teacher") {
		t.Fatalf("violations %v: %s", v, st.Message())
	}
	r = e.Do(t, "PUT", base+"/student_groups/newcomers", daTok, `{"label":"Newcomer students"}`)
	wantREST(t, r, http.StatusOK, codes.OK)

	r = e.Do(t, "GET", base+"/sites", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var ls pb.ListSitesResponse
	decode(t, r.Body, &ls)
	if len(ls.GetSites()) != 5 {
		t.Fatalf("GET sites: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/sites/rest-es/classrooms", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var lc pb.ListClassroomsResponse
	decode(t, r.Body, &lc)
	if len(lc.GetClassrooms()) != 1 || lc.GetClassrooms()[0].GetTeacherId() != "rest-t1" {
		t.Fatalf("GET classrooms: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/classrooms?site_id="+rbLincoln+"&page_size=5", coachTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	decode(t, r.Body, &lc)
	if len(lc.GetClassrooms()) != 5 || lc.GetNextPageToken() == "" {
		t.Fatalf("GET classrooms page: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/staff?role=STAFF_ROLE_PRINCIPAL", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var lst pb.ListStaffResponse
	decode(t, r.Body, &lst)
	if len(lst.GetStaff()) != 4 {
		t.Fatalf("GET principals: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/student_groups", coachTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)

	// Scope over REST: another site (404), another district (404), the analyst (403), a coach writing (403).
	wantREST(t, e.Do(t, "GET", base+"/sites/"+rbRoosevelt+"/classrooms", coachTok, ""), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "GET", base+"/sites/"+rbRoosevelt, coachTok, ""), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "GET", "/v1/districts/"+mvDistrict+"/sites", daTok, ""), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "PUT", "/v1/districts/"+mvDistrict+"/sites/x", daTok, `{"name":"X"}`), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "GET", base+"/sites", analystTok, ""), http.StatusForbidden, codes.PermissionDenied)
	wantREST(t, e.Do(t, "GET", base+"/settings", analystTok, ""), http.StatusForbidden, codes.PermissionDenied)
	wantREST(t, e.Do(t, "PUT", base+"/sites/x", coachTok, `{"name":"X"}`), http.StatusForbidden, codes.PermissionDenied)
	wantREST(t, e.Do(t, "GET", base+"/sites", "", ""), http.StatusUnauthorized, codes.Unauthenticated)
}
