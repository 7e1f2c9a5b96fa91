package server_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// ---------------------------------------------------------------------------------------------
// Access per role and scope

func TestRosterAccessPerRoleAndScope(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	rc := rosterClient(e)
	coach, principal := e.Users[observation.RoleCoach], e.Users[observation.RolePrincipal]
	coachCtx, principalCtx := roleCtx(t, e, observation.RoleCoach), roleCtx(t, e, observation.RolePrincipal)
	daCtx, adminCtx, analystCtx := roleCtx(t, e, observation.RoleDistrictAdmin), roleCtx(t, e, observation.RoleAdmin), roleCtx(t, e, observation.RoleNetworkAnalyst)

	// Coaches and principals list their own sites and classrooms only.
	for _, c := range []struct {
		ctx   context.Context
		sites []string
	}{{coachCtx, coach.SiteIDs}, {principalCtx, principal.SiteIDs}} {
		sites, err := rc.ListSites(c.ctx, &pb.ListSitesRequest{DistrictId: rbDistrict})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(c.sites)
		slices.Sort(want)
		if got := siteIDs(sites.GetSites()); !slices.Equal(got, want) {
			t.Errorf("sites %v, want %v", got, want)
		}
		cs, err := rc.ListClassrooms(c.ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, PageSize: 1000})
		if err != nil || len(cs.GetClassrooms()) == 0 {
			t.Fatalf("classrooms: %v", err)
		}
		for _, cl := range cs.GetClassrooms() {
			if !slices.Contains(c.sites, cl.GetSiteId()) {
				t.Errorf("classroom %s at %s is outside the caller's sites", cl.GetClassroomId(), cl.GetSiteId())
			}
		}
		staff, err := rc.ListStaff(c.ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range staff.GetStaff() {
			for _, site := range s.GetSiteIds() {
				if !slices.Contains(c.sites, site) {
					t.Errorf("staff %s shows site %s outside the caller's sites", s.GetStaffId(), site)
				}
			}
		}
		// Another site of their own district: not found, whether listed, fetched or filtered by.
		_, err = rc.GetSite(c.ctx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: rbRoosevelt})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ListClassrooms(c.ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, SiteId: rbRoosevelt})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ListStaff(c.ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, SiteId: rbRoosevelt})
		wantCode(t, err, codes.NotFound)
		// ... and a site that does not exist looks the same.
		_, err = rc.GetSite(c.ctx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: "no-such-site"})
		wantCode(t, err, codes.NotFound)
		// They read settings and student groups, and write nothing.
		if _, err := rc.GetDistrictSettings(c.ctx, &pb.GetDistrictSettingsRequest{DistrictId: rbDistrict}); err != nil {
			t.Fatal(err)
		}
		_, err = rc.UpsertSite(c.ctx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: &pb.Site{SiteId: "x", Name: "X"}})
		wantCode(t, err, codes.PermissionDenied)
		_, err = rc.UpdateDistrictSettings(c.ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: &pb.DistrictSettings{NetworkOptIn: false},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"network_opt_in"}}})
		wantCode(t, err, codes.PermissionDenied)
		_, err = rc.BulkUpsertRoster(c.ctx, &pb.BulkUpsertRosterRequest{DistrictId: rbDistrict, Sites: []*pb.Site{{SiteId: "x", Name: "X"}}})
		wantCode(t, err, codes.PermissionDenied)
		_, err = rc.ImportOneRoster(c.ctx, &pb.ImportOneRosterRequest{DistrictId: rbDistrict, OrgsCsv: "sourcedId,name,type\nx,X,school\n"})
		wantCode(t, err, codes.PermissionDenied)
		// Another district: not found, like a district that does not exist.
		for _, d := range []string{mvDistrict, "no-such-district"} {
			_, err = rc.ListSites(c.ctx, &pb.ListSitesRequest{DistrictId: d})
			wantCode(t, err, codes.NotFound)
		}
	}

	// A district admin: their district in full; another district (existing or not) not found.
	sites, err := rc.ListSites(daCtx, &pb.ListSitesRequest{DistrictId: rbDistrict})
	if err != nil || len(sites.GetSites()) != 4 {
		t.Fatalf("district admin sites: %v %v", sites, err)
	}
	for _, d := range []string{mvDistrict, "no-such-district"} {
		_, err = rc.ListSites(daCtx, &pb.ListSitesRequest{DistrictId: d})
		wantCode(t, err, codes.NotFound)
		_, err = rc.GetDistrictSettings(daCtx, &pb.GetDistrictSettingsRequest{DistrictId: d})
		wantCode(t, err, codes.NotFound)
		_, err = rc.UpsertSite(daCtx, &pb.UpsertSiteRequest{DistrictId: d, Site: &pb.Site{SiteId: "x", Name: "X"}})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ImportOneRoster(daCtx, &pb.ImportOneRosterRequest{DistrictId: d, OrgsCsv: "sourcedId,name,type\nx,X,school\n"})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ListStudentGroups(daCtx, &pb.ListStudentGroupsRequest{DistrictId: d})
		wantCode(t, err, codes.NotFound)
	}

	// An admin: every district; a district that does not exist is not found.
	mv, err := rc.ListSites(adminCtx, &pb.ListSitesRequest{DistrictId: mvDistrict})
	if err != nil || len(mv.GetSites()) != 4 {
		t.Fatalf("admin: %v %v", mv, err)
	}
	if _, err := rc.UpsertSite(adminCtx, &pb.UpsertSiteRequest{DistrictId: mvDistrict, Site: &pb.Site{SiteId: "mv-admin-site", Name: "Admin-made"}}); err != nil {
		t.Fatal(err)
	}
	_, err = rc.ListSites(adminCtx, &pb.ListSitesRequest{DistrictId: "no-such-district"})
	wantCode(t, err, codes.NotFound)
	_, err = rc.UpsertSite(adminCtx, &pb.UpsertSiteRequest{DistrictId: "no-such-district", Site: &pb.Site{SiteId: "x", Name: "X"}})
	wantCode(t, err, codes.NotFound)

	// A network analyst reads no roster at all.
	for name, call := range map[string]func() error{
		"ListSites": func() error {
			_, err := rc.ListSites(analystCtx, &pb.ListSitesRequest{DistrictId: rbDistrict})
			return err
		},
		"GetSite": func() error {
			_, err := rc.GetSite(analystCtx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: rbLincoln})
			return err
		},
		"ListClassrooms": func() error {
			_, err := rc.ListClassrooms(analystCtx, &pb.ListClassroomsRequest{DistrictId: rbDistrict})
			return err
		},
		"ListStaff": func() error {
			_, err := rc.ListStaff(analystCtx, &pb.ListStaffRequest{DistrictId: rbDistrict})
			return err
		},
		"ListStudentGroups": func() error {
			_, err := rc.ListStudentGroups(analystCtx, &pb.ListStudentGroupsRequest{DistrictId: rbDistrict})
			return err
		},
		"GetDistrictSettings": func() error {
			_, err := rc.GetDistrictSettings(analystCtx, &pb.GetDistrictSettingsRequest{DistrictId: rbDistrict})
			return err
		},
		"ListSites (no such district)": func() error {
			_, err := rc.ListSites(analystCtx, &pb.ListSitesRequest{DistrictId: "no-such-district"})
			return err
		},
		"UpsertSite": func() error {
			_, err := rc.UpsertSite(analystCtx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: &pb.Site{SiteId: "x", Name: "X"}})
			return err
		},
	} {
		if err := call(); err == nil || wantCode(t, err, codes.PermissionDenied) == nil {
			t.Errorf("analyst %s: %v", name, err)
		}
	}
	if n := auditCount(t, e, rbDistrict, "roster.upsert_site"); n != 0 {
		t.Fatalf("refused writes left %d audit entries", n)
	}
}
