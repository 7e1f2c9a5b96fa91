package demo

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

func checkIDs(t *testing.T, kind string, ids []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range ids {
		if !idPattern.MatchString(id) {
			t.Errorf("%s id %q does not match %s", kind, id, idPattern)
		}
		if seen[id] {
			t.Errorf("%s id %q is not unique", kind, id)
		}
		seen[id] = true
	}
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func TestCounts(t *testing.T) {
	r := Network()
	if got := len(r.Districts); got != 3 {
		t.Errorf("districts = %d, want 3", got)
	}
	if got := len(r.Sites); got != 12 {
		t.Errorf("sites = %d, want 12", got)
	}
	if got := len(r.Classrooms); got < 140 || got > 160 {
		t.Errorf("classrooms = %d, want 140-160", got)
	}
	perSite := map[string]int{}
	for _, c := range r.Classrooms {
		perSite[c.SiteID]++
	}
	bands := map[string]int{}
	for _, s := range r.Sites {
		bands[s.GradeBand]++
		if n := perSite[s.ID]; n < 12 || n > 13 {
			t.Errorf("site %s has %d classrooms, want 12-13", s.ID, n)
		}
	}
	if bands[bandElementary] == 0 || bands[bandMiddle] == 0 || len(bands) != 2 {
		t.Errorf("grade bands = %v, want a mix of %s and %s only", bands, bandElementary, bandMiddle)
	}

	roles := map[string]map[roster.StaffRole]int{}
	for _, s := range r.Staff {
		if roles[s.DistrictID] == nil {
			roles[s.DistrictID] = map[roster.StaffRole]int{}
		}
		roles[s.DistrictID][s.Role]++
	}
	teachers := 0
	for _, d := range r.Districts {
		sites := 0
		for _, s := range r.Sites {
			if s.DistrictID == d.ID {
				sites++
			}
		}
		if sites != 4 {
			t.Errorf("district %s has %d sites, want 4", d.ID, sites)
		}
		got := roles[d.ID]
		if got[roster.StaffPrincipal] != sites {
			t.Errorf("district %s has %d principals, want %d", d.ID, got[roster.StaffPrincipal], sites)
		}
		if got[roster.StaffCoach] != 2 {
			t.Errorf("district %s has %d coaches, want 2", d.ID, got[roster.StaffCoach])
		}
		if got[roster.StaffDistrictAdmin] != 1 {
			t.Errorf("district %s has %d district admins, want 1", d.ID, got[roster.StaffDistrictAdmin])
		}
		teachers += got[roster.StaffTeacher]
	}
	if teachers != len(r.Classrooms) {
		t.Errorf("teachers = %d, want one per classroom (%d)", teachers, len(r.Classrooms))
	}
	if len(roles) != len(r.Districts) {
		t.Errorf("staff belong to %d districts, want %d", len(roles), len(r.Districts))
	}
}

func TestIDsValidAndUnique(t *testing.T) {
	r := Network()
	checkIDs(t, "district", ids(r.Districts, func(d observation.District) string { return d.ID }))
	checkIDs(t, "site", ids(r.Sites, func(s observation.Site) string { return s.ID }))
	checkIDs(t, "classroom", ids(r.Classrooms, func(c observation.Classroom) string { return c.ID }))
	checkIDs(t, "staff", ids(r.Staff, func(s roster.Staff) string { return s.ID }))
	for _, d := range r.Districts {
		if d.ID == observation.NetworkOwner {
			t.Errorf("district id %q collides with the network owner", d.ID)
		}
		checkIDs(t, "student group of "+d.ID, ids(d.Settings.StudentGroups, func(g observation.StudentGroup) string { return g.Key }))
		checkIDs(t, "window of "+d.ID, ids(d.Settings.Windows, func(w observation.NamedWindow) string { return w.Key }))
	}
	// The sign-in ids of the network-level demo users must be valid and not collide with roster ids.
	staff := map[string]bool{}
	for _, s := range r.Staff {
		staff[s.ID] = true
	}
	for _, u := range Principals(r) {
		p := u.Principal
		if !idPattern.MatchString(p.UserID) {
			t.Errorf("user id %q does not match %s", p.UserID, idPattern)
		}
		if p.DistrictID == "" && staff[p.UserID] {
			t.Errorf("network user id %q collides with a staff id", p.UserID)
		}
	}
}

func TestStaffDetails(t *testing.T) {
	r := Network()
	emails := map[string]bool{}
	names := map[string]bool{}
	districts := map[string]bool{}
	for _, d := range r.Districts {
		districts[d.ID] = true
	}
	sites := map[string]observation.Site{}
	for _, s := range r.Sites {
		sites[s.ID] = s
	}
	for _, s := range r.Staff {
		if !districts[s.DistrictID] {
			t.Errorf("staff %s: unknown district %q", s.ID, s.DistrictID)
		}
		if !strings.HasPrefix(s.ID, s.DistrictID+".") {
			t.Errorf("staff %s: id does not start with its district %q", s.ID, s.DistrictID)
		}
		if s.GivenName == "" || s.FamilyName == "" {
			t.Errorf("staff %s: missing name", s.ID)
		}
		full := s.GivenName + " " + s.FamilyName
		if names[full] {
			t.Errorf("staff %s: name %q is used twice", s.ID, full)
		}
		names[full] = true
		local, domain, ok := strings.Cut(s.Email, "@")
		if !ok || domain != emailDomain || local == "" || strings.ContainsFunc(local, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.')
		}) {
			t.Errorf("staff %s: email %q is not a plain ascii address at %s", s.ID, s.Email, emailDomain)
		}
		if emails[s.Email] {
			t.Errorf("staff %s: email %q is used twice", s.ID, s.Email)
		}
		emails[s.Email] = true
		for _, site := range s.SiteIDs {
			if got, ok := sites[site]; !ok || got.DistrictID != s.DistrictID {
				t.Errorf("staff %s: site %q is not a site of %s", s.ID, site, s.DistrictID)
			}
		}
		switch s.Role {
		case roster.StaffTeacher, roster.StaffPrincipal:
			if len(s.SiteIDs) != 1 {
				t.Errorf("%s %s: sites = %v, want exactly one", s.Role, s.ID, s.SiteIDs)
			}
		case roster.StaffCoach:
			if n := len(s.SiteIDs); n < 2 || n > 3 {
				t.Errorf("coach %s: %d sites, want 2-3", s.ID, n)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(s.SiteIDs)))) != len(s.SiteIDs) {
				t.Errorf("coach %s: duplicate sites %v", s.ID, s.SiteIDs)
			}
		case roster.StaffDistrictAdmin:
			if len(s.SiteIDs) != 0 {
				t.Errorf("district admin %s: sites = %v, want none", s.ID, s.SiteIDs)
			}
		default:
			t.Errorf("staff %s: unexpected role %q", s.ID, s.Role)
		}
	}
	// Every site has exactly one principal and at least one coach.
	principals := map[string]int{}
	coached := map[string]bool{}
	for _, s := range r.Staff {
		for _, site := range s.SiteIDs {
			switch s.Role {
			case roster.StaffPrincipal:
				principals[site]++
			case roster.StaffCoach:
				coached[site] = true
			}
		}
	}
	for _, s := range r.Sites {
		if principals[s.ID] != 1 {
			t.Errorf("site %s has %d principals, want 1", s.ID, principals[s.ID])
		}
		if !coached[s.ID] {
			t.Errorf("site %s has no coach", s.ID)
		}
	}
}

func TestClassrooms(t *testing.T) {
	r := Network()
	sites := map[string]observation.Site{}
	for _, s := range r.Sites {
		sites[s.ID] = s
	}
	staff := map[string]roster.Staff{}
	for _, s := range r.Staff {
		staff[s.ID] = s
	}
	bandGrades := map[string][]string{
		bandElementary: {"K", "1", "2", "3", "4", "5"},
		bandMiddle:     {"6", "7", "8"},
	}
	teacherUse := map[string]int{}
	gradesSeen := map[string]map[string]bool{}
	for _, c := range r.Classrooms {
		site, ok := sites[c.SiteID]
		if !ok || site.DistrictID != c.DistrictID {
			t.Errorf("classroom %s: site %q is not in district %s", c.ID, c.SiteID, c.DistrictID)
			continue
		}
		teacher, ok := staff[c.TeacherID]
		switch {
		case !ok:
			t.Errorf("classroom %s: teacher %q not on the roster", c.ID, c.TeacherID)
		case teacher.DistrictID != c.DistrictID:
			t.Errorf("classroom %s: teacher %s is in district %s, not %s", c.ID, teacher.ID, teacher.DistrictID, c.DistrictID)
		case teacher.Role != roster.StaffTeacher:
			t.Errorf("classroom %s: staff %s is a %s, not a teacher", c.ID, teacher.ID, teacher.Role)
		case !slices.Contains(teacher.SiteIDs, c.SiteID):
			t.Errorf("classroom %s: teacher %s is not assigned to site %s (has %v)", c.ID, teacher.ID, c.SiteID, teacher.SiteIDs)
		}
		teacherUse[c.TeacherID]++
		if !slices.Contains(bandGrades[site.GradeBand], c.Grade) {
			t.Errorf("classroom %s: grade %q outside site band %s", c.ID, c.Grade, site.GradeBand)
		}
		if gradesSeen[c.SiteID] == nil {
			gradesSeen[c.SiteID] = map[string]bool{}
		}
		gradesSeen[c.SiteID][c.Grade] = true
		if c.Course == "" || c.Section == "" {
			t.Errorf("classroom %s: missing course or section", c.ID)
		}
		if !strings.HasPrefix(c.ID, c.SiteID+".") {
			t.Errorf("classroom %s: id does not start with its site %s", c.ID, c.SiteID)
		}
	}
	for id, n := range teacherUse {
		if n != 1 {
			t.Errorf("teacher %s teaches %d demo classrooms, want 1", id, n)
		}
	}
	for _, s := range r.Sites {
		if got, want := len(gradesSeen[s.ID]), len(bandGrades[s.GradeBand]); got != want {
			t.Errorf("site %s covers %d grades, want every grade of %s", s.ID, got, s.GradeBand)
		}
	}
}

func TestDistrictSettings(t *testing.T) {
	r := Network()
	def := observation.DefaultDistrictSettings()
	optIn, start7, start8 := 0, 0, 0
	for _, d := range r.Districts {
		s := d.Settings
		if d.Name == "" {
			t.Errorf("district %s has no name", d.ID)
		}
		if s.NetworkOptIn {
			optIn++
		}
		switch s.SchoolYearStartMonth {
		case 7:
			start7++
		case 8:
			start8++
		default:
			t.Errorf("district %s: school year starts in month %d", d.ID, s.SchoolYearStartMonth)
		}
		if s.SuppressionThreshold < observation.NetworkMinSuppression || s.MinTeachersPerCell < observation.NetworkMinTeachers {
			t.Errorf("district %s: thresholds below network minimums: %+v", d.ID, s)
		}
		if s.SuppressionThreshold != def.SuppressionThreshold || s.MinTeachersPerCell != def.MinTeachersPerCell ||
			s.ProficiencyLevel != def.ProficiencyLevel || !slices.Equal(s.Languages, def.Languages) {
			t.Errorf("district %s: settings do not start from the defaults: %+v", d.ID, s)
		}
		want := []observation.NamedWindow{
			{Key: "baseline", StartMonth: 8, StartDay: 15, EndMonth: 10, EndDay: 15},
			{Key: "mid_year", StartMonth: 1, StartDay: 5, EndMonth: 2, EndDay: 28},
			{Key: "end_of_year", StartMonth: 4, StartDay: 15, EndMonth: 6, EndDay: 10},
		}
		if len(s.Windows) != len(want) {
			t.Fatalf("district %s: %d windows, want %d", d.ID, len(s.Windows), len(want))
		}
		for i, w := range s.Windows {
			if w.Title == "" {
				t.Errorf("district %s: window %s has no title", d.ID, w.Key)
			}
			w.Title = ""
			if w != want[i] {
				t.Errorf("district %s: window %d = %+v, want %+v", d.ID, i, w, want[i])
			}
		}
		if len(s.StudentGroups) < 2 {
			t.Errorf("district %s: %d student groups, want several", d.ID, len(s.StudentGroups))
		}
		for _, g := range s.StudentGroups {
			if g.Key == "" || g.Label == "" {
				t.Errorf("district %s: incomplete student group %+v", d.ID, g)
			}
		}
	}
	if optIn != 2 {
		t.Errorf("%d districts opted in to network measures, want 2", optIn)
	}
	if start7 != 1 || start8 != 2 {
		t.Errorf("school year start months: %d in July, %d in August; want 1 and 2", start7, start8)
	}
	// Districts must not share backing arrays (a caller editing one must not change another).
	r.Districts[0].Settings.StudentGroups[0].Label = "changed"
	r.Districts[0].Settings.Languages[0] = "xx"
	for _, d := range r.Districts[1:] {
		if d.Settings.StudentGroups[0].Label == "changed" || d.Settings.Languages[0] == "xx" {
			t.Errorf("district %s shares settings slices with %s", d.ID, r.Districts[0].ID)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := Network(), Network()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls to Network returned different rosters")
	}
	// Fresh allocations: editing one result leaves the next call untouched.
	a.Staff[0].GivenName = "changed"
	a.Districts[0].Settings.Windows[0].Title = "changed"
	a.Districts[0].Settings.StudentGroups[0].Label = "changed"
	if c := Network(); !reflect.DeepEqual(b, c) {
		t.Fatal("editing one roster changed a later call's result")
	}
	if !reflect.DeepEqual(Principals(b), Principals(Network())) {
		t.Fatal("Principals is not deterministic")
	}
}

func TestPrincipals(t *testing.T) {
	r := Network()
	users := Principals(r)
	first := r.Districts[0].ID
	staff := map[string]roster.Staff{}
	for _, s := range r.Staff {
		staff[s.ID] = s
	}
	count := map[observation.Role]int{}
	for _, u := range users {
		p := u.Principal
		count[p.Role]++
		if u.Label == "" {
			t.Errorf("%s: empty label", p.UserID)
		}
		if !p.Role.Valid() {
			t.Errorf("%s: invalid role %q", p.UserID, p.Role)
		}
		switch p.Role {
		case observation.RoleCoach, observation.RolePrincipal, observation.RoleDistrictAdmin:
			s, ok := staff[p.UserID]
			if !ok {
				t.Errorf("%s %s: not on the staff roster", p.Role, p.UserID)
				continue
			}
			if string(s.Role) != string(p.Role) {
				t.Errorf("%s %s: roster role is %s", p.Role, p.UserID, s.Role)
			}
			if p.DistrictID != first || s.DistrictID != first {
				t.Errorf("%s %s: district %q, want the first district %q", p.Role, p.UserID, p.DistrictID, first)
			}
			if p.Role == observation.RoleDistrictAdmin {
				if len(p.SiteIDs) != 0 {
					t.Errorf("district admin %s: sites = %v, want none", p.UserID, p.SiteIDs)
				}
			} else if len(p.SiteIDs) == 0 || !slices.Equal(p.SiteIDs, s.SiteIDs) {
				t.Errorf("%s %s: sites = %v, want roster sites %v", p.Role, p.UserID, p.SiteIDs, s.SiteIDs)
			}
			for _, site := range p.SiteIDs {
				if !p.CanSeeSite(first, site) {
					t.Errorf("%s %s cannot see its own site %s", p.Role, p.UserID, site)
				}
			}
		case observation.RoleNetworkAnalyst:
			if p.UserID != "analyst-1" || p.DistrictID != "" || len(p.SiteIDs) != 0 {
				t.Errorf("network analyst = %+v, want analyst-1 with no district or sites", p)
			}
		case observation.RoleAdmin:
			if p.UserID != "admin-1" || p.DistrictID != "" || len(p.SiteIDs) != 0 {
				t.Errorf("admin = %+v, want admin-1 with no district or sites", p)
			}
		}
	}
	for _, role := range observation.Roles {
		if count[role] != 1 {
			t.Errorf("role %s appears %d times, want once", role, count[role])
		}
	}
	if len(users) != len(observation.Roles) {
		t.Errorf("%d demo users, want %d", len(users), len(observation.Roles))
	}
	// The returned site lists are copies: editing them leaves the roster alone.
	for _, u := range users {
		if len(u.Principal.SiteIDs) > 0 {
			orig := staff[u.Principal.UserID].SiteIDs[0]
			u.Principal.SiteIDs[0] = "changed"
			if staff[u.Principal.UserID].SiteIDs[0] != orig {
				t.Errorf("%s: Principals shares SiteIDs with the roster", u.Principal.UserID)
			}
		}
	}
}
