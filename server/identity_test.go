package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/oidcprovider"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// TestScopeFromRoster: the roster, not the token, says what a caller may do. Role, district and
// site claims are ignored; people not on the roster, inactive people and teachers are refused
// with a reason, over gRPC and REST.
func TestScopeFromRoster(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]

	// A token for the coach whose claims say admin of another district, with other sites.
	lying := observation.Principal{UserID: coach.UserID, Role: observation.RoleAdmin, DistrictID: "mesa-verde-sd", SiteIDs: []string{"mesa-verde-sd.x"}}
	me, err := pb.NewIdentityServiceClient(e.GRPC).WhoAmI(testenv.Ctx(e.TokenOnly(t, lying)), &pb.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if me.GetUserId() != coach.UserID || me.GetRole() != pb.Role_ROLE_COACH || me.GetDistrictId() != coach.DistrictID ||
		!slices.Equal(slices.Sorted(slices.Values(me.GetSiteIds())), slices.Sorted(slices.Values(coach.SiteIDs))) {
		t.Fatalf("WhoAmI with lying claims = %v, want the roster's coach %+v", me, coach)
	}
	// The same token cannot reach the other district's data.
	r := e.Do(t, http.MethodGet, "/v1/districts/mesa-verde-sd/sites", e.TokenOnly(t, lying), "")
	if r.Status == http.StatusOK {
		t.Fatalf("lying claims reached another district: %d %s", r.Status, r.Body)
	}

	refused := func(name, token, reason string) {
		t.Helper()
		_, err := pb.NewIdentityServiceClient(e.GRPC).WhoAmI(testenv.Ctx(token), &pb.WhoAmIRequest{})
		if st := wantCode(t, err, codes.PermissionDenied); reasonOf(st) != reason || st.Message() == "" {
			t.Errorf("%s: gRPC reason %q (%q), want %s", name, reasonOf(st), st.Message(), reason)
		}
		r := e.Do(t, http.MethodGet, "/v1/me", token, "")
		if st := wantREST(t, r, http.StatusForbidden, codes.PermissionDenied); reasonOf(st) != reason {
			t.Errorf("%s: REST reason %q, want %s; body %s", name, reasonOf(st), reason, r.Body)
		}
	}
	refused("not on the roster", e.TokenOnly(t, observation.Principal{UserID: "robot-1", Role: observation.RoleAdmin}), identity.ReasonNotRostered)
	refused("teacher", e.TokenOnly(t, observation.Principal{UserID: "riverbend-usd.teacher-001", Role: observation.RoleDistrictAdmin,
		DistrictID: coach.DistrictID}), identity.ReasonNotAnObserver)

	tok := e.TokenFor(t, observation.RolePrincipal)
	principal := e.Users[observation.RolePrincipal]
	for _, s := range []identity.Status{identity.StatusInactive, identity.StatusToBeDeleted} {
		if err := e.Store.SetStaffStatus(ctx, principal.DistrictID, principal.UserID, s); err != nil {
			t.Fatal(err)
		}
		refused("principal "+string(s), tok, identity.ReasonStaffInactive)
	}
	if err := e.Store.SetStaffStatus(ctx, principal.DistrictID, principal.UserID, identity.StatusActive); err != nil {
		t.Fatal(err)
	}
	wantREST(t, e.Do(t, http.MethodGet, "/v1/me", tok, ""), http.StatusOK, codes.OK)
}

// TestRosterChangeReachesEveryProcess: two server processes on one database. A district admin
// removes a site from a coach on one; at the coach's next call on the other, WhoAmI shows it
// gone, the next pull removes the site's records (OUT_OF_SCOPE tombstones), reading one answers
// like a record that does not exist, and pushing to the site is rejected per item, like a
// classroom that does not exist, while the rest of the batch applies. Making the coach inactive refuses the next call on both.
func TestRosterChangeReachesEveryProcess(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	e2 := e.Second(t)
	ctx := context.Background()
	coach, da := e.Users[observation.RoleCoach], e.Users[observation.RoleDistrictAdmin]
	siteA, siteB := coach.SiteIDs[0], coach.SiteIDs[1]
	tok := e.Token(t, coach)
	tr2 := server.NewTransport(e2.GRPC, func(context.Context) (string, error) { return tok, nil })
	dev := "019a0000-0000-7000-8000-00000000a001"
	if _, err := tr2.RegisterDevice(ctx, dev, "test", 1); err != nil {
		t.Fatal(err)
	}
	// The district admin records at A and B; the coach pulls them through the second process.
	daRecs := append(sgRecords(t, e, 301, da, []string{siteA}, 3, observation.RecordSubmitted),
		sgRecords(t, e, 304, da, []string{siteB}, 3, observation.RecordSubmitted)...)
	trDA, devDA := e.Device(t, da)
	sgApplied(t, sgPush(t, trDA, devDA, "", testenv.Changes(1, daRecs...)...).Results, 1, false, daRecs...)
	first := sgPullAll(t, tr2, dev, "", 0)
	var atB []observation.Record
	for _, r := range daRecs {
		if _, ok := first.Upserts[r.ID]; !ok {
			t.Fatalf("first pull lacks %s", r.ID)
		}
		if r.SiteID == siteB {
			atB = append(atB, r)
		}
	}
	if len(atB) == 0 {
		t.Fatal("no records at site B")
	}

	// On the first process, the district admin keeps only site A (and C) for the coach.
	var kept []string
	for _, s := range coach.SiteIDs {
		if s != siteB {
			kept = append(kept, s)
		}
	}
	if _, err := pb.NewRosterServiceClient(e.GRPC).UpsertStaff(testenv.Ctx(e.TokenFor(t, observation.RoleDistrictAdmin)), &pb.UpsertStaffRequest{
		DistrictId: coach.DistrictID, Staff: &pb.Staff{StaffId: coach.UserID, GivenName: "Coach", Role: pb.StaffRole_STAFF_ROLE_COACH, SiteIds: kept}}); err != nil {
		t.Fatal(err)
	}

	// The coach's very next calls, on the second process.
	me, err := pb.NewIdentityServiceClient(e2.GRPC).WhoAmI(testenv.Ctx(tok), &pb.WhoAmIRequest{})
	if err != nil || slices.Contains(me.GetSiteIds(), siteB) || len(me.GetSiteIds()) != len(kept) {
		t.Fatalf("WhoAmI after the change: %v %v", me, err)
	}
	shrink := sgPullAll(t, tr2, dev, first.Cursor, 0)
	for _, r := range atB {
		if why, ok := shrink.Tombstones[r.ID]; !ok || why != sync.TombstoneOutOfScope {
			t.Fatalf("pull after the change: %s tombstone %q, want out_of_scope", r.ID, why)
		}
	}
	oc := pb.NewObservationServiceClient(e2.GRPC)
	_, errB := oc.GetObservation(testenv.Ctx(tok), &pb.GetObservationRequest{ObservationId: atB[0].ID})
	_, errNone := oc.GetObservation(testenv.Ctx(tok), &pb.GetObservationRequest{ObservationId: "019a0000-0000-7000-8000-0000000000ff"})
	stB, stNone := wantCode(t, errB, codes.NotFound), wantCode(t, errNone, codes.NotFound)
	if reasonOf(stB) != reasonOf(stNone) || strings.Contains(stB.Message(), "scope") {
		t.Fatalf("out of scope read %q/%q, nonexistent %q/%q: should look alike", reasonOf(stB), stB.Message(), reasonOf(stNone), stNone.Message())
	}
	withB := coach
	withB.SiteIDs = []string{siteB}
	newAtB := sgRecords(t, e, 302, withB, []string{siteB}, 1, observation.RecordSubmitted)
	newAtA := sgRecords(t, e, 303, coach, []string{siteA}, 1, observation.RecordSubmitted)
	res := sgPush(t, tr2, dev, "", testenv.Changes(1, newAtB[0], newAtA[0])...).Results
	// Rejected like a classroom that does not exist (a push cannot probe the roster).
	if res[0].Status != sync.StatusRejected || res[0].Reason != "UNKNOWN_CLASSROOM" || res[1].Status != sync.StatusApplied {
		t.Fatalf("push after the change: %+v", res)
	}

	// Inactive: refused at the next call on both processes.
	if err := e.Store.SetStaffStatus(ctx, coach.DistrictID, coach.UserID, identity.StatusInactive); err != nil {
		t.Fatal(err)
	}
	for _, env := range []*testenv.Env{e, e2} {
		_, err := pb.NewIdentityServiceClient(env.GRPC).WhoAmI(testenv.Ctx(tok), &pb.WhoAmIRequest{})
		if st := wantCode(t, err, codes.PermissionDenied); reasonOf(st) != identity.ReasonStaffInactive {
			t.Fatalf("inactive coach: %v", err)
		}
	}
}

// TestSignInWithDistrictProvider: a district administrator trusts the district's identity
// provider (a real OpenID Provider on loopback) through the REST API; a coach signs in there
// with the authorization code flow and PKCE, and the provider's ID token resolves, by the
// coach's verified email, to the coach's roster scope. People the roster does not know, and
// addresses the provider has not verified, are refused; bad settings are answered 400 naming the
// field; settings changes and links are audited.
func TestSignInWithDistrictProvider(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	var coachEmail string
	for _, s := range e.Roster.Staff {
		if s.ID == coach.UserID {
			coachEmail = s.Email
		}
	}
	app := oidcprovider.Client{ID: "lookfor-tablet", RedirectURIs: []string{"http://127.0.0.1/callback"}}
	users := []oidcprovider.User{
		{Subject: "g-77", Username: "coach", Password: "pw", Email: strings.ToUpper(coachEmail), EmailVerified: true},
		{Subject: "g-78", Username: "stranger", Password: "pw", Email: "stranger@example.org", EmailVerified: true},
		{Subject: "g-79", Username: "unverified", Password: "pw", Email: coachEmail, EmailVerified: false},
	}
	op, err := oidcprovider.Start("127.0.0.1:0", users, []oidcprovider.Client{app})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	signIn := func(user string) string {
		t.Helper()
		toks, err := op.SignIn(ctx, app, user, "pw")
		if err != nil {
			t.Fatal(err)
		}
		return toks.IDToken
	}
	coachTok := signIn("coach")

	// Not trusted yet: refused before any roster lookup.
	r := e.Do(t, http.MethodGet, "/v1/me", coachTok, "")
	if st := wantREST(t, r, http.StatusUnauthorized, codes.Unauthenticated); reasonOf(st) != "TOKEN_ISSUER" {
		t.Fatalf("untrusted provider: reason %q", reasonOf(st))
	}

	da := e.TokenFor(t, observation.RoleDistrictAdmin)
	path := "/v1/districts/" + coach.DistrictID + "/identity"
	settings := `{"issuers":[{"issuer":"` + op.Issuer + `","audiences":["` + app.ID + `"],"email_domains":["Example.ORG"]}]}`
	// Coaches cannot change them; bad input names the field.
	wantREST(t, e.Do(t, http.MethodPut, path, e.TokenFor(t, observation.RoleCoach), settings), http.StatusForbidden, codes.PermissionDenied)
	for _, c := range []struct{ body, field string }{
		{`{"issuers":[{"issuer":"ftp://idp.example","audiences":["a"]}]}`, "issuers[0].issuer"},
		{`{"issuers":[{"issuer":"https://idp.example","audiences":["a b"]}]}`, "issuers[0].audiences[0]"},
		{`{"issuers":[{"issuer":"https://idp.example","audiences":["a"],"email_domains":["not a domain"]}]}`, "issuers[0].email_domains[0]"},
	} {
		st := wantREST(t, e.Do(t, http.MethodPut, path, da, c.body), http.StatusBadRequest, codes.InvalidArgument)
		if v := violationsOf(st); !slices.Equal(v, []string{c.field}) {
			t.Errorf("%s: violations %v, want %s (%s)", c.body, v, c.field, st.Message())
		}
	}
	r = e.Do(t, http.MethodPut, path, da, settings)
	wantREST(t, r, http.StatusOK, codes.OK)
	if !strings.Contains(r.Body, `"example.org"`) {
		t.Fatalf("settings not normalized: %s", r.Body)
	}

	// Trusted: the coach's provider token resolves to the coach's roster record.
	r = e.Do(t, http.MethodGet, "/v1/me", coachTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var me pb.WhoAmIResponse
	decode(t, r.Body, &me)
	if me.GetUserId() != coach.UserID || me.GetDistrictId() != coach.DistrictID || me.GetRole() != pb.Role_ROLE_COACH {
		t.Fatalf("WhoAmI with the provider's token: %v", &me)
	}
	refused := func(user, reason string) {
		t.Helper()
		st := wantREST(t, e.Do(t, http.MethodGet, "/v1/me", signIn(user), ""), http.StatusForbidden, codes.PermissionDenied)
		if reasonOf(st) != reason {
			t.Errorf("%s: reason %q, want %s", user, reasonOf(st), reason)
		}
	}
	refused("stranger", identity.ReasonNotRostered)
	refused("unverified", identity.ReasonEmailUnverified)

	audit := func(action string) []*pb.AuditEntry {
		t.Helper()
		resp, err := pb.NewAuditServiceClient(e.GRPC).ListAuditEntries(testenv.Ctx(da), &pb.ListAuditEntriesRequest{DistrictId: coach.DistrictID, Action: action})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetEntries()
	}
	if got := audit("identity.settings.update"); len(got) != 1 || !strings.Contains(got[0].GetDetails().String(), op.Issuer) {
		t.Errorf("settings audit: %v", got)
	}
	var linked bool
	for _, en := range audit("identity.link") {
		d := en.GetDetails().AsMap()
		if d["issuer"] == op.Issuer && d["subject"] == "g-77" && en.GetActor() == coach.UserID {
			linked = true
		}
		if strings.Contains(en.GetDetails().String(), "eyJ") {
			t.Errorf("a token reached the audit log: %v", en)
		}
	}
	if !linked {
		t.Error("the provider sign-in's link is not audited")
	}
}

// TestStaffStatusThroughTheAPI: a district administrator makes a coach inactive with UpsertStaff;
// the coach's next call is refused, ListStaff shows the status, and making them active again
// restores sign-in. An upsert that leaves the status unspecified keeps it.
func TestStaffStatusThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	d := "riverbend-usd"
	coach2 := observation.Principal{UserID: d + ".coach-2", Role: observation.RoleCoach, DistrictID: d}
	var staff *pb.Staff
	rc := pb.NewRosterServiceClient(e.GRPC)
	da := testenv.Ctx(e.TokenFor(t, observation.RoleDistrictAdmin))
	list, err := rc.ListStaff(da, &pb.ListStaffRequest{DistrictId: d, Role: pb.StaffRole_STAFF_ROLE_COACH})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.GetStaff() {
		if s.GetStaffId() == coach2.UserID {
			staff = s
		}
	}
	if staff == nil || staff.GetStatus() != pb.StaffStatus_STAFF_STATUS_ACTIVE {
		t.Fatalf("coach-2 listed as %v", staff)
	}
	tok := e.TokenOnly(t, coach2)
	whoami := func() error {
		_, err := pb.NewIdentityServiceClient(e.GRPC).WhoAmI(testenv.Ctx(tok), &pb.WhoAmIRequest{})
		return err
	}
	if err := whoami(); err != nil {
		t.Fatal(err)
	}
	upsert := func(status pb.StaffStatus) {
		t.Helper()
		s := proto.Clone(staff).(*pb.Staff)
		s.Status, s.CreateTime, s.UpdateTime = status, nil, nil
		if _, err := rc.UpsertStaff(da, &pb.UpsertStaffRequest{DistrictId: d, Staff: s}); err != nil {
			t.Fatal(err)
		}
	}
	upsert(pb.StaffStatus_STAFF_STATUS_INACTIVE)
	if st := wantCode(t, whoami(), codes.PermissionDenied); reasonOf(st) != identity.ReasonStaffInactive {
		t.Fatalf("inactive coach: %v", st)
	}
	upsert(pb.StaffStatus_STAFF_STATUS_UNSPECIFIED) // keeps inactive
	if st := wantCode(t, whoami(), codes.PermissionDenied); reasonOf(st) != identity.ReasonStaffInactive {
		t.Fatalf("after an upsert without status: %v", st)
	}
	upsert(pb.StaffStatus_STAFF_STATUS_ACTIVE)
	if err := whoami(); err != nil {
		t.Fatalf("reactivated coach: %v", err)
	}
}

// TestNetworkStaffManagedByAdmins: admins create and end network-level people over REST; a new
// network analyst signs in with the roster's scope; district admins cannot manage them; bad
// input names the field.
func TestNetworkStaffManagedByAdmins(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	admin, da := e.TokenFor(t, observation.RoleAdmin), e.TokenFor(t, observation.RoleDistrictAdmin)
	body := `{"staff_id":"analyst-2","given_name":"Ada","email":"ada@example.org","role":"ROLE_NETWORK_ANALYST"}`
	wantREST(t, e.Do(t, http.MethodPut, "/v1/network/staff/analyst-2", da, body), http.StatusForbidden, codes.PermissionDenied)
	st := wantREST(t, e.Do(t, http.MethodPut, "/v1/network/staff/analyst-2", admin, strings.Replace(body, "ROLE_NETWORK_ANALYST", "ROLE_COACH", 1)),
		http.StatusBadRequest, codes.InvalidArgument)
	if v := violationsOf(st); !slices.Equal(v, []string{"staff.role"}) {
		t.Errorf("coach as a network person: violations %v (%s)", v, st.Message())
	}
	wantREST(t, e.Do(t, http.MethodPut, "/v1/network/staff/analyst-2", admin, body), http.StatusOK, codes.OK)

	tok := e.TokenOnly(t, observation.Principal{UserID: "analyst-2"})
	r := e.Do(t, http.MethodGet, "/v1/me", tok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	if !strings.Contains(r.Body, `"role":"ROLE_NETWORK_ANALYST"`) {
		t.Fatalf("new analyst: %s", r.Body)
	}
	r = e.Do(t, http.MethodGet, "/v1/network/staff", admin, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	if !strings.Contains(r.Body, `"staff_id":"analyst-2"`) || !strings.Contains(r.Body, `"status":"STAFF_STATUS_ACTIVE"`) {
		t.Fatalf("list: %s", r.Body)
	}
	ended := strings.Replace(body, `"role"`, `"status":"STAFF_STATUS_INACTIVE","role"`, 1)
	wantREST(t, e.Do(t, http.MethodPut, "/v1/network/staff/analyst-2", admin, ended), http.StatusOK, codes.OK)
	if st := wantREST(t, e.Do(t, http.MethodGet, "/v1/me", tok, ""), http.StatusForbidden, codes.PermissionDenied); reasonOf(st) != identity.ReasonStaffInactive {
		t.Fatalf("ended analyst: %v", st)
	}
}
