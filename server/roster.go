package server

import (
	"context"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
)

// rosterServer serves RosterService: district rosters, student groups and settings.
type rosterServer struct {
	pb.UnimplementedRosterServiceServer
	rosters *roster.Service
}

func (s *rosterServer) GetDistrictSettings(ctx context.Context, req *pb.GetDistrictSettingsRequest) (*pb.GetDistrictSettingsResponse, error) {
	d, err := s.rosters.Settings(ctx, principalFrom(ctx), req.GetDistrictId())
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.GetDistrictSettingsResponse{Settings: settingsToPB(d.Settings), UpdateTime: ts(d.UpdatedAt)}, nil
}

func (s *rosterServer) UpdateDistrictSettings(ctx context.Context, req *pb.UpdateDistrictSettingsRequest) (*pb.UpdateDistrictSettingsResponse, error) {
	d, changed, err := s.rosters.UpdateSettings(ctx, principalFrom(ctx), req.GetDistrictId(),
		settingsFromPB(req.GetSettings()), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpdateDistrictSettingsResponse{Settings: settingsToPB(d.Settings), UpdateTime: ts(d.UpdatedAt), Changed: changed}, nil
}

func (s *rosterServer) UpsertSite(ctx context.Context, req *pb.UpsertSiteRequest) (*pb.UpsertSiteResponse, error) {
	site := siteFromPB(req.GetSite())
	if id := req.GetSiteId(); id != "" {
		if site.ID != "" && site.ID != id {
			return nil, fail(ctx, observation.Invalid("site.site_id", "SITE_ID_MISMATCH", "the site's id %q differs from the site_id %q it is stored under", observation.Clip(site.ID), observation.Clip(id)))
		}
		site.ID = id
	}
	site, outcome, err := s.rosters.UpsertSite(ctx, principalFrom(ctx), req.GetDistrictId(), site)
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpsertSiteResponse{Site: siteToPB(site), Outcome: outcomeToPB[outcome]}, nil
}

func (s *rosterServer) GetSite(ctx context.Context, req *pb.GetSiteRequest) (*pb.GetSiteResponse, error) {
	site, err := s.rosters.GetSite(ctx, principalFrom(ctx), req.GetDistrictId(), req.GetSiteId())
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.GetSiteResponse{Site: siteToPB(site)}, nil
}

// rosterPage reads a list request's page size and token.
func rosterPage(size int32, token string) (roster.Page, error) {
	after, err := roster.PageAfter(token)
	return roster.Page{Size: int(size), After: after}, err
}

func (s *rosterServer) ListSites(ctx context.Context, req *pb.ListSitesRequest) (*pb.ListSitesResponse, error) {
	pg, err := rosterPage(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, fail(ctx, err)
	}
	sites, next, err := s.rosters.ListSites(ctx, principalFrom(ctx), req.GetDistrictId(), pg)
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListSitesResponse{Sites: make([]*pb.Site, 0, len(sites)), NextPageToken: next}
	for _, site := range sites {
		out.Sites = append(out.Sites, siteToPB(site))
	}
	return out, nil
}

func (s *rosterServer) UpsertClassroom(ctx context.Context, req *pb.UpsertClassroomRequest) (*pb.UpsertClassroomResponse, error) {
	c, outcome, err := s.rosters.UpsertClassroom(ctx, principalFrom(ctx), req.GetDistrictId(), classroomFromPB(req.GetClassroom()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpsertClassroomResponse{Classroom: classroomToPB(c), Outcome: outcomeToPB[outcome]}, nil
}

func (s *rosterServer) ListClassrooms(ctx context.Context, req *pb.ListClassroomsRequest) (*pb.ListClassroomsResponse, error) {
	pg, err := rosterPage(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, fail(ctx, err)
	}
	cs, next, err := s.rosters.ListClassrooms(ctx, principalFrom(ctx), req.GetDistrictId(), req.GetSiteId(), pg)
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListClassroomsResponse{Classrooms: make([]*pb.Classroom, 0, len(cs)), NextPageToken: next}
	for _, c := range cs {
		out.Classrooms = append(out.Classrooms, classroomToPB(c))
	}
	return out, nil
}

func (s *rosterServer) UpsertStaff(ctx context.Context, req *pb.UpsertStaffRequest) (*pb.UpsertStaffResponse, error) {
	st, outcome, err := s.rosters.UpsertStaff(ctx, principalFrom(ctx), req.GetDistrictId(), staffFromPB(req.GetStaff()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpsertStaffResponse{Staff: staffToPB(st), Outcome: outcomeToPB[outcome]}, nil
}

func (s *rosterServer) ListStaff(ctx context.Context, req *pb.ListStaffRequest) (*pb.ListStaffResponse, error) {
	pg, err := rosterPage(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, fail(ctx, err)
	}
	ss, next, err := s.rosters.ListStaff(ctx, principalFrom(ctx), req.GetDistrictId(), req.GetSiteId(), staffRoleFromPB[req.GetRole()], pg)
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListStaffResponse{Staff: make([]*pb.Staff, 0, len(ss)), NextPageToken: next}
	for _, st := range ss {
		out.Staff = append(out.Staff, staffToPB(st))
	}
	return out, nil
}

func (s *rosterServer) UpsertStudentGroup(ctx context.Context, req *pb.UpsertStudentGroupRequest) (*pb.UpsertStudentGroupResponse, error) {
	g, outcome, err := s.rosters.UpsertStudentGroup(ctx, principalFrom(ctx), req.GetDistrictId(),
		observation.StudentGroup{Key: req.GetStudentGroup().GetKey(), Label: req.GetStudentGroup().GetLabel()})
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpsertStudentGroupResponse{StudentGroup: &pb.StudentGroup{Key: g.Key, Label: g.Label}, Outcome: outcomeToPB[outcome]}, nil
}

func (s *rosterServer) ListStudentGroups(ctx context.Context, req *pb.ListStudentGroupsRequest) (*pb.ListStudentGroupsResponse, error) {
	gs, err := s.rosters.StudentGroups(ctx, principalFrom(ctx), req.GetDistrictId())
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListStudentGroupsResponse{StudentGroups: make([]*pb.StudentGroup, 0, len(gs))}
	for _, g := range gs {
		out.StudentGroups = append(out.StudentGroups, &pb.StudentGroup{Key: g.Key, Label: g.Label})
	}
	return out, nil
}

func (s *rosterServer) BulkUpsertRoster(ctx context.Context, req *pb.BulkUpsertRosterRequest) (*pb.BulkUpsertRosterResponse, error) {
	var b roster.Batch
	for _, site := range req.GetSites() {
		b.Sites = append(b.Sites, siteFromPB(site))
	}
	for _, c := range req.GetClassrooms() {
		b.Classrooms = append(b.Classrooms, classroomFromPB(c))
	}
	for _, st := range req.GetStaff() {
		b.Staff = append(b.Staff, staffFromPB(st))
	}
	counts, err := s.rosters.BulkUpsert(ctx, principalFrom(ctx), req.GetDistrictId(), b)
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.BulkUpsertRosterResponse{Counts: countsToPB(counts)}, nil
}

func (s *rosterServer) ImportOneRoster(ctx context.Context, req *pb.ImportOneRosterRequest) (*pb.ImportOneRosterResponse, error) {
	res, err := s.rosters.ImportOneRoster(ctx, principalFrom(ctx), req.GetDistrictId(), roster.OneRosterImport{
		Zip: req.GetZip(),
		Files: roster.OneRosterFiles{
			Orgs: req.GetOrgsCsv(), Users: req.GetUsersCsv(), Roles: req.GetRolesCsv(),
			Classes: req.GetClassesCsv(), Enrollments: req.GetEnrollmentsCsv(),
		},
		Options: roster.OneRosterOptions{Subjects: req.GetSubjects()},
		DryRun:  req.GetDryRun(),
	})
	if err != nil {
		return nil, fail(ctx, err)
	}
	sk := res.Skipped
	out := &pb.ImportOneRosterResponse{
		Counts: countsToPB(res.Counts),
		Skipped: &pb.ImportSkipped{
			Students: int32(sk.Students), StudentEnrollments: int32(sk.StudentEnrollments), OtherUsers: int32(sk.OtherUsers),
			OtherOrgs: int32(sk.OtherOrgs), OtherEnrollments: int32(sk.OtherEnrollments), FilteredClasses: int32(sk.FilteredClasses),
			Deleted: int32(sk.Deleted),
		},
		Warnings: make([]*pb.ImportIssue, 0, len(res.Warnings)),
		DryRun:   res.DryRun,
	}
	for _, w := range res.Warnings {
		out.Warnings = append(out.Warnings, &pb.ImportIssue{File: w.File, Line: int32(w.Line), Message: w.Message, Count: int32(w.Count)})
	}
	return out, nil
}

// ---------------------------------------------------------------------------------------------
// pb ↔ domain

var outcomeToPB = map[roster.UpsertOutcome]pb.UpsertOutcome{
	roster.OutcomeCreated:   pb.UpsertOutcome_UPSERT_OUTCOME_CREATED,
	roster.OutcomeUpdated:   pb.UpsertOutcome_UPSERT_OUTCOME_UPDATED,
	roster.OutcomeUnchanged: pb.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED,
}

var staffRoleToPB = map[roster.StaffRole]pb.StaffRole{
	roster.StaffTeacher:       pb.StaffRole_STAFF_ROLE_TEACHER,
	roster.StaffCoach:         pb.StaffRole_STAFF_ROLE_COACH,
	roster.StaffPrincipal:     pb.StaffRole_STAFF_ROLE_PRINCIPAL,
	roster.StaffDistrictAdmin: pb.StaffRole_STAFF_ROLE_DISTRICT_ADMIN,
}

var staffRoleFromPB = map[pb.StaffRole]roster.StaffRole{
	pb.StaffRole_STAFF_ROLE_TEACHER:        roster.StaffTeacher,
	pb.StaffRole_STAFF_ROLE_COACH:          roster.StaffCoach,
	pb.StaffRole_STAFF_ROLE_PRINCIPAL:      roster.StaffPrincipal,
	pb.StaffRole_STAFF_ROLE_DISTRICT_ADMIN: roster.StaffDistrictAdmin,
}

func siteToPB(s observation.Site) *pb.Site {
	return &pb.Site{SiteId: s.ID, Name: s.Name, GradeBand: s.GradeBand, CreateTime: ts(s.CreatedAt), UpdateTime: ts(s.UpdatedAt)}
}

func siteFromPB(s *pb.Site) observation.Site {
	return observation.Site{ID: s.GetSiteId(), Name: s.GetName(), GradeBand: s.GetGradeBand()}
}

func classroomToPB(c observation.Classroom) *pb.Classroom {
	return &pb.Classroom{ClassroomId: c.ID, SiteId: c.SiteID, Course: c.Course, Grade: c.Grade, Section: c.Section,
		TeacherId: c.TeacherID, CreateTime: ts(c.CreatedAt), UpdateTime: ts(c.UpdatedAt)}
}

func classroomFromPB(c *pb.Classroom) observation.Classroom {
	return observation.Classroom{ID: c.GetClassroomId(), SiteID: c.GetSiteId(), Course: c.GetCourse(), Grade: c.GetGrade(),
		Section: c.GetSection(), TeacherID: c.GetTeacherId()}
}

func staffToPB(s roster.Staff) *pb.Staff {
	return &pb.Staff{StaffId: s.ID, GivenName: s.GivenName, FamilyName: s.FamilyName, Email: s.Email,
		Role: staffRoleToPB[s.Role], SiteIds: s.SiteIDs, CreateTime: ts(s.CreatedAt), UpdateTime: ts(s.UpdatedAt),
		Status: staffStatusToPB[s.Status]}
}

var staffStatusToPB = map[string]pb.StaffStatus{
	"active": pb.StaffStatus_STAFF_STATUS_ACTIVE, "inactive": pb.StaffStatus_STAFF_STATUS_INACTIVE,
	"tobedeleted": pb.StaffStatus_STAFF_STATUS_TO_BE_DELETED,
}

var staffStatusFromPB = map[pb.StaffStatus]string{
	pb.StaffStatus_STAFF_STATUS_ACTIVE: "active", pb.StaffStatus_STAFF_STATUS_INACTIVE: "inactive",
	pb.StaffStatus_STAFF_STATUS_TO_BE_DELETED: "tobedeleted",
}

func staffFromPB(s *pb.Staff) roster.Staff {
	role, ok := staffRoleFromPB[s.GetRole()]
	if !ok && s.GetRole() != pb.StaffRole_STAFF_ROLE_UNSPECIFIED {
		role = roster.StaffRole(s.GetRole().String()) // rejected by validation, naming the value
	}
	return roster.Staff{ID: s.GetStaffId(), GivenName: s.GetGivenName(), FamilyName: s.GetFamilyName(), Email: s.GetEmail(),
		Role: role, SiteIDs: append([]string(nil), s.GetSiteIds()...), Status: staffStatusFromPB[s.GetStatus()]}
}

func settingsToPB(s observation.DistrictSettings) *pb.DistrictSettings {
	out := &pb.DistrictSettings{
		SchoolYearStartMonth: int32(s.SchoolYearStartMonth), SuppressionThreshold: int32(s.SuppressionThreshold),
		MinTeachersPerCell: int32(s.MinTeachersPerCell), ProficiencyLevel: int32(s.ProficiencyLevel),
		NetworkOptIn: s.NetworkOptIn, Languages: append([]string(nil), s.Languages...),
	}
	for _, w := range s.Windows {
		out.Windows = append(out.Windows, &pb.NamedWindow{Key: w.Key, Title: w.Title, StartMonth: int32(w.StartMonth),
			StartDay: int32(w.StartDay), EndMonth: int32(w.EndMonth), EndDay: int32(w.EndDay)})
	}
	for _, g := range s.StudentGroups {
		out.StudentGroups = append(out.StudentGroups, &pb.StudentGroup{Key: g.Key, Label: g.Label})
	}
	return out
}

func settingsFromPB(s *pb.DistrictSettings) observation.DistrictSettings {
	out := observation.DistrictSettings{
		SchoolYearStartMonth: int(s.GetSchoolYearStartMonth()), SuppressionThreshold: int(s.GetSuppressionThreshold()),
		MinTeachersPerCell: int(s.GetMinTeachersPerCell()), ProficiencyLevel: int(s.GetProficiencyLevel()),
		NetworkOptIn: s.GetNetworkOptIn(), Languages: append([]string(nil), s.GetLanguages()...),
	}
	for _, w := range s.GetWindows() {
		out.Windows = append(out.Windows, observation.NamedWindow{Key: w.GetKey(), Title: w.GetTitle(), StartMonth: int(w.GetStartMonth()),
			StartDay: int(w.GetStartDay()), EndMonth: int(w.GetEndMonth()), EndDay: int(w.GetEndDay())})
	}
	for _, g := range s.GetStudentGroups() {
		out.StudentGroups = append(out.StudentGroups, observation.StudentGroup{Key: g.GetKey(), Label: g.GetLabel()})
	}
	return out
}

func upsertCountsToPB(c roster.UpsertCounts) *pb.UpsertCounts {
	return &pb.UpsertCounts{Created: int32(c.Created), Updated: int32(c.Updated), Unchanged: int32(c.Unchanged)}
}

func countsToPB(c roster.Counts) *pb.RosterCounts {
	return &pb.RosterCounts{Sites: upsertCountsToPB(c.Sites), Classrooms: upsertCountsToPB(c.Classrooms), Staff: upsertCountsToPB(c.Staff)}
}
