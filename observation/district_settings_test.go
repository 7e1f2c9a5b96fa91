package observation

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func validSettings() DistrictSettings {
	s := DefaultDistrictSettings()
	s.Windows = []NamedWindow{
		{Key: "baseline", Title: "Baseline", StartMonth: 8, StartDay: 15, EndMonth: 10, EndDay: 15},
		{Key: "mid_year", Title: "Mid-year", StartMonth: 12, StartDay: 1, EndMonth: 2, EndDay: 29}, // wraps the new year
	}
	s.StudentGroups = []StudentGroup{{Key: "ml", Label: "Multilingual learners"}}
	return s
}

func TestValidateDistrictSettings(t *testing.T) {
	if err := ValidateDistrictSettings(validSettings()); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	if err := ValidateDistrictSettings(DefaultDistrictSettings()); err != nil {
		t.Fatalf("default settings: %v", err)
	}
	cases := []struct {
		name          string
		mutate        func(s *DistrictSettings)
		field, reason string
	}{
		{"start month 0", func(s *DistrictSettings) { s.SchoolYearStartMonth = 0 }, "settings.school_year_start_month", ReasonOutOfRange},
		{"start month 13", func(s *DistrictSettings) { s.SchoolYearStartMonth = 13 }, "settings.school_year_start_month", ReasonOutOfRange},
		{"suppression below network", func(s *DistrictSettings) { s.SuppressionThreshold = NetworkMinSuppression - 1 }, "settings.suppression_threshold", ReasonBelowNetworkMinimum},
		{"suppression 0", func(s *DistrictSettings) { s.SuppressionThreshold = 0 }, "settings.suppression_threshold", ReasonBelowNetworkMinimum},
		{"suppression huge", func(s *DistrictSettings) { s.SuppressionThreshold = MaxSuppressionSetting + 1 }, "settings.suppression_threshold", ReasonOutOfRange},
		{"teachers below network", func(s *DistrictSettings) { s.MinTeachersPerCell = NetworkMinTeachers - 1 }, "settings.min_teachers_per_cell", ReasonBelowNetworkMinimum},
		{"proficiency -1", func(s *DistrictSettings) { s.ProficiencyLevel = -1 }, "settings.proficiency_level", ReasonOutOfRange},
		{"proficiency 11", func(s *DistrictSettings) { s.ProficiencyLevel = 11 }, "settings.proficiency_level", ReasonOutOfRange},
		{"window key", func(s *DistrictSettings) { s.Windows[1].Key = "Mid Year" }, "settings.windows[1].key", reasonBadKey},
		{"window key twice", func(s *DistrictSettings) { s.Windows[1].Key = "baseline" }, "settings.windows[1].key", reasonDuplicateKey},
		{"window title", func(s *DistrictSettings) { s.Windows[0].Title = " " }, "settings.windows[0].title", ReasonRequired},
		{"window month", func(s *DistrictSettings) { s.Windows[0].StartMonth = 13 }, "settings.windows[0].start_month", ReasonOutOfRange},
		{"window day", func(s *DistrictSettings) { s.Windows[0].EndMonth, s.Windows[0].EndDay = 9, 31 }, "settings.windows[0].end_day", ReasonBadDate},
		{"window backwards", func(s *DistrictSettings) { s.Windows[0].EndMonth, s.Windows[0].EndDay = 8, 1 }, "settings.windows[0].end_month", ReasonWindowOrder},
		{"group key", func(s *DistrictSettings) { s.StudentGroups[0].Key = "" }, "settings.student_groups[0].key", ReasonRequired},
		{"group twice", func(s *DistrictSettings) {
			s.StudentGroups = append(s.StudentGroups, StudentGroup{Key: "ml", Label: "again"})
		}, "settings.student_groups[1].key", reasonDuplicateKey},
		{"group label", func(s *DistrictSettings) { s.StudentGroups[0].Label = "" }, "settings.student_groups[0].label", ReasonRequired},
		{"no languages", func(s *DistrictSettings) { s.Languages = nil }, "settings.languages", ReasonRequired},
		{"english not first", func(s *DistrictSettings) { s.Languages = []string{"es", "en"} }, "settings.languages[0]", reasonDefaultLanguage},
		{"bad language", func(s *DistrictSettings) { s.Languages = []string{"en", "Spanish"} }, "settings.languages[1]", reasonBadLanguage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validSettings()
			c.mutate(&s)
			err := ValidateDistrictSettings(s)
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Field != c.field || e.Reason != c.reason {
				t.Fatalf("got %v (%+v), want field %s reason %s", err, e, c.field, c.reason)
			}
		})
	}
}

func TestMergeSettingsAndDiff(t *testing.T) {
	cur := validSettings()
	in := DistrictSettings{SuppressionThreshold: 15, NetworkOptIn: true}
	fields, err := settingsMask([]string{"suppression_threshold", "settings.network_opt_in"})
	if err != nil {
		t.Fatal(err)
	}
	next := MergeSettings(cur, in, fields)
	if next.SuppressionThreshold != 15 || !next.NetworkOptIn || next.SchoolYearStartMonth != cur.SchoolYearStartMonth || len(next.Windows) != 2 {
		t.Errorf("merged %+v", next)
	}
	if d := SettingsDiff(cur, next); !slices.Equal(d, []string{"suppression_threshold", "network_opt_in"}) {
		t.Errorf("diff %v", d)
	}
	// Merging must not alias the inputs.
	next.Windows[0].Title = "changed"
	if cur.Windows[0].Title == "changed" {
		t.Error("MergeSettings aliases the current windows")
	}
	// Every field, by an empty mask or "*".
	for _, paths := range [][]string{nil, {"*"}} {
		fields, err := settingsMask(paths)
		if err != nil || !slices.Equal(fields, SettingsFields) {
			t.Errorf("mask %v → %v, %v", paths, fields, err)
		}
	}
	if _, err := settingsMask([]string{"windows", "colour"}); err == nil || !strings.Contains(err.Error(), "update_mask") {
		t.Errorf("unknown field: %v", err)
	}
	// An empty list equals no list.
	a, b := validSettings(), validSettings()
	a.StudentGroups, b.StudentGroups = nil, []StudentGroup{}
	if d := SettingsDiff(a, b); len(d) != 0 {
		t.Errorf("diff %v, want none", d)
	}
}

func TestRosterBatchValidate(t *testing.T) {
	ok := RosterBatch{
		Sites:      []Site{{ID: "s1", Name: "School One", GradeBand: "K-5"}},
		Classrooms: []Classroom{{ID: "c1", SiteID: "s1", Course: "Math 3", Grade: "3,4", Section: "A", TeacherID: "t1"}},
		Staff:      []Staff{{ID: "t1", GivenName: "A", FamilyName: "B", Email: "a.b@example.org", Role: StaffTeacher, SiteIDs: []string{"s1", "s1"}}},
	}
	ok.normalize("d1")
	if err := ok.validate(bulkLocator); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ok.Staff[0].SiteIDs, []string{"s1"}) || ok.Sites[0].DistrictID != "d1" {
		t.Errorf("normalize: %+v", ok)
	}
	cases := []struct {
		name   string
		mutate func(b *RosterBatch)
		field  string
		reason string
	}{
		{"site id", func(b *RosterBatch) { b.Sites[0].ID = "bad id" }, "sites[0].site_id", ReasonBadID},
		{"site twice", func(b *RosterBatch) { b.Sites = append(b.Sites, b.Sites[0]) }, "sites[1].site_id", ReasonDuplicateID},
		{"site name", func(b *RosterBatch) { b.Sites[0].Name = "" }, "sites[0].name", ReasonRequired},
		{"classroom site", func(b *RosterBatch) { b.Classrooms[0].SiteID = "" }, "classrooms[0].site_id", ReasonRequired},
		{"course", func(b *RosterBatch) { b.Classrooms[0].Course = " " }, "classrooms[0].course", ReasonRequired},
		{"grade", func(b *RosterBatch) { b.Classrooms[0].Grade = "third" }, "classrooms[0].grade", ReasonBadGrade},
		{"grade 13", func(b *RosterBatch) { b.Classrooms[0].Grade = "13" }, "classrooms[0].grade", ReasonBadGrade},
		{"teacher id", func(b *RosterBatch) { b.Classrooms[0].TeacherID = "-x" }, "classrooms[0].teacher_id", ReasonBadID},
		{"section", func(b *RosterBatch) { b.Classrooms[0].Section = strings.Repeat("x", MaxRosterLabelLength+1) }, "classrooms[0].section", reasonTooLong},
		{"staff role", func(b *RosterBatch) { b.Staff[0].Role = "wizard" }, "staff[0].role", ReasonBadStaffRole},
		{"staff no role", func(b *RosterBatch) { b.Staff[0].Role = "" }, "staff[0].role", ReasonRequired},
		{"email", func(b *RosterBatch) { b.Staff[0].Email = "nobody" }, "staff[0].email", ReasonBadEmail},
		{"staff site", func(b *RosterBatch) { b.Staff[0].SiteIDs = []string{"s1", "bad site"} }, "staff[0].site_ids[1]", ReasonBadID},
		{"name NUL", func(b *RosterBatch) { b.Staff[0].GivenName = "a\x00" }, "staff[0].given_name", reasonInvalidUTF8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ok
			b.Sites, b.Classrooms, b.Staff = slices.Clone(ok.Sites), slices.Clone(ok.Classrooms), slices.Clone(ok.Staff)
			c.mutate(&b)
			err := b.validate(bulkLocator)
			var e *Error
			if !errors.As(err, &e) || e.Field != c.field || e.Reason != c.reason {
				t.Fatalf("got %v (%+v), want field %s reason %s", err, e, c.field, c.reason)
			}
		})
	}
}

func TestRosterAccess(t *testing.T) {
	p := func(role Role, district string) Principal {
		return Principal{UserID: "u", Role: role, DistrictID: district}
	}
	cases := []struct {
		who   Principal
		write bool
		want  Kind
	}{
		{p(RoleDistrictAdmin, "d1"), true, 0},
		{p(RoleAdmin, ""), true, 0},
		{p(RoleCoach, "d1"), false, 0},
		{p(RolePrincipal, "d1"), false, 0},
		{p(RoleCoach, "d1"), true, KindPermissionDenied},
		{p(RolePrincipal, "d1"), true, KindPermissionDenied},
		{p(RoleDistrictAdmin, "d2"), false, KindNotFound},
		{p(RoleCoach, "d2"), true, KindNotFound},
		{p(RoleNetworkAnalyst, ""), false, KindPermissionDenied},
	}
	for _, c := range cases {
		if got := KindOf(rosterAccess(c.who, "d1", c.write)); got != c.want {
			t.Errorf("%s of %q, write=%v: %v, want %v", c.who.Role, c.who.DistrictID, c.write, got, c.want)
		}
	}
	if KindOf(rosterAccess(p(RoleAdmin, ""), "network", false)) != KindInvalid {
		t.Error("the network owner id is not a district")
	}
}

func TestPageTokens(t *testing.T) {
	for _, id := range []string{"a", "riverbend-usd.lincoln-es.g3-b", "x:y"} {
		after, err := PageAfter(PageToken(id))
		if err != nil || after != id {
			t.Errorf("round trip of %q: %q, %v", id, after, err)
		}
	}
	if _, err := PageAfter("!!"); KindOf(err) != KindInvalid {
		t.Errorf("bad token: %v", err)
	}
	if after, err := PageAfter(""); after != "" || err != nil {
		t.Errorf("empty token: %q, %v", after, err)
	}
}
