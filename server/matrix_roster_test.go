package server_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
)

// rosterMatrix adds the RosterService RPCs to TestAccessMatrix. Callers, in order: coach,
// principal, district admin, network analyst, admin, another district's admin, a coach of
// another site.
func rosterMatrix(e *testenv.Env, da, principal observation.Principal, _ string) []matrixCase {
	rc := pb.NewRosterServiceClient(e.GRPC)
	d, site := da.DistrictID, principal.SiteIDs[0]
	var teacher string
	for _, s := range e.Roster.Staff {
		if s.DistrictID == d && s.Role == roster.StaffTeacher && len(s.SiteIDs) > 0 && s.SiteIDs[0] == site {
			teacher = s.ID
		}
	}
	n := 0
	next := func(prefix string) string { n++; return fmt.Sprintf("%s-mx-%d", prefix, n) }
	const (
		OK = codes.OK
		NF = codes.NotFound
		PD = codes.PermissionDenied
	)
	readAll := []codes.Code{OK, OK, OK, PD, OK, NF, OK}
	readSite := []codes.Code{OK, OK, OK, PD, OK, NF, NF}
	write := []codes.Code{PD, PD, OK, PD, OK, NF, PD}
	return []matrixCase{
		{"RosterService/GetDistrictSettings", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.GetDistrictSettings(ctx, &pb.GetDistrictSettingsRequest{DistrictId: d})
			return err
		}, readAll},
		{"RosterService/ListSites", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.ListSites(ctx, &pb.ListSitesRequest{DistrictId: d})
			return err
		}, readAll},
		{"RosterService/ListStaff", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.ListStaff(ctx, &pb.ListStaffRequest{DistrictId: d})
			return err
		}, readAll},
		{"RosterService/ListStudentGroups", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.ListStudentGroups(ctx, &pb.ListStudentGroupsRequest{DistrictId: d})
			return err
		}, readAll},
		{"RosterService/GetSite (the principal's site)", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.GetSite(ctx, &pb.GetSiteRequest{DistrictId: d, SiteId: site})
			return err
		}, readSite},
		{"RosterService/ListClassrooms (the principal's site)", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.ListClassrooms(ctx, &pb.ListClassroomsRequest{DistrictId: d, SiteId: site})
			return err
		}, readSite},
		{"RosterService/UpsertSite", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.UpsertSite(ctx, &pb.UpsertSiteRequest{DistrictId: d, Site: &pb.Site{SiteId: next(d), Name: "New school", GradeBand: "K-5"}})
			return err
		}, write},
		{"RosterService/UpsertClassroom", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.UpsertClassroom(ctx, &pb.UpsertClassroomRequest{DistrictId: d, Classroom: &pb.Classroom{ClassroomId: next(site),
				SiteId: site, Course: "Mathematics 4", Grade: "4", Section: "Z", TeacherId: teacher}})
			return err
		}, write},
		{"RosterService/UpsertStaff", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.UpsertStaff(ctx, &pb.UpsertStaffRequest{DistrictId: d, Staff: &pb.Staff{StaffId: next(d + ".teacher"),
				GivenName: "Ana", FamilyName: "Ruiz", Role: pb.StaffRole_STAFF_ROLE_TEACHER, SiteIds: []string{site}}})
			return err
		}, write},
		{"RosterService/UpsertStudentGroup", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.UpsertStudentGroup(ctx, &pb.UpsertStudentGroupRequest{DistrictId: d, StudentGroup: &pb.StudentGroup{Key: fmt.Sprintf("group_mx_%d", n+1), Label: "A group"}})
			n++
			return err
		}, write},
		{"RosterService/BulkUpsertRoster", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.BulkUpsertRoster(ctx, &pb.BulkUpsertRosterRequest{DistrictId: d, Sites: []*pb.Site{{SiteId: next(d), Name: "Bulk school", GradeBand: "6-8"}}})
			return err
		}, write},
		{"RosterService/ImportOneRoster", func(ctx context.Context, _ observation.Principal) error {
			id := next("org")
			_, err := rc.ImportOneRoster(ctx, &pb.ImportOneRosterRequest{DistrictId: d,
				OrgsCsv: "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" + id + ",active,2026-08-01,Imported School,school,,\n"})
			return err
		}, write},
		{"RosterService/UpdateDistrictSettings", func(ctx context.Context, _ observation.Principal) error {
			s := observation.DefaultDistrictSettings()
			_, err := rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: d,
				Settings:   &pb.DistrictSettings{SuppressionThreshold: int32(s.SuppressionThreshold + n)},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"suppression_threshold"}}})
			n++
			return err
		}, write},
	}
}
