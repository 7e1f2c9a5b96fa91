package roster

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

func validSettings() observation.DistrictSettings {
	s := observation.DefaultDistrictSettings()
	s.Windows = []observation.NamedWindow{
		{Key: "baseline", Title: "Baseline", StartMonth: 8, StartDay: 15, EndMonth: 10, EndDay: 15},
		{Key: "mid_year", Title: "Mid-year", StartMonth: 12, StartDay: 1, EndMonth: 2, EndDay: 29}, // wraps the new year
	}
	s.StudentGroups = []observation.StudentGroup{{Key: "ml", Label: "Multilingual learners"}}
	return s
}

func TestMergeSettingsAndDiff(t *testing.T) {
	cur := validSettings()
	in := observation.DistrictSettings{SuppressionThreshold: 15, NetworkOptIn: true}
	fields, err := settingsMask([]string{"suppression_threshold", "settings.network_opt_in"})
	if err != nil {
		t.Fatal(err)
	}
	next := mergeSettings(cur, in, fields)
	if next.SuppressionThreshold != 15 || !next.NetworkOptIn || next.SchoolYearStartMonth != cur.SchoolYearStartMonth || len(next.Windows) != 2 {
		t.Errorf("merged %+v", next)
	}
	if d := settingsDiff(cur, next); !slices.Equal(d, []string{"suppression_threshold", "network_opt_in"}) {
		t.Errorf("diff %v", d)
	}
	// Merging must not alias the inputs.
	next.Windows[0].Title = "changed"
	if cur.Windows[0].Title == "changed" {
		t.Error("mergeSettings aliases the current windows")
	}
	// Every field, by an empty mask or "*".
	for _, paths := range [][]string{nil, {"*"}} {
		fields, err := settingsMask(paths)
		if err != nil || !slices.Equal(fields, settingsFields) {
			t.Errorf("mask %v → %v, %v", paths, fields, err)
		}
	}
	if _, err := settingsMask([]string{"windows", "colour"}); err == nil || !strings.Contains(err.Error(), "update_mask") {
		t.Errorf("unknown field: %v", err)
	}
	// An empty list equals no list.
	a, b := validSettings(), validSettings()
	a.StudentGroups, b.StudentGroups = nil, []observation.StudentGroup{}
	if d := settingsDiff(a, b); len(d) != 0 {
		t.Errorf("diff %v, want none", d)
	}
}

func TestRosterBatchValidate(t *testing.T) {
	ok := Batch{
		Sites:      []observation.Site{{ID: "s1", Name: "School One", GradeBand: "K-5"}},
		Classrooms: []observation.Classroom{{ID: "c1", SiteID: "s1", Course: "Math 3", Grade: "3,4", Section: "A", TeacherID: "t1"}},
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
		mutate func(b *Batch)
		field  string
		reason string
	}{
		{"site id", func(b *Batch) { b.Sites[0].ID = "bad id" }, "sites[0].site_id", observation.ReasonBadID},
		{"site twice", func(b *Batch) { b.Sites = append(b.Sites, b.Sites[0]) }, "sites[1].site_id", reasonDuplicateID},
		{"site name", func(b *Batch) { b.Sites[0].Name = "" }, "sites[0].name", observation.ReasonRequired},
		{"classroom site", func(b *Batch) { b.Classrooms[0].SiteID = "" }, "classrooms[0].site_id", observation.ReasonRequired},
		{"course", func(b *Batch) { b.Classrooms[0].Course = " " }, "classrooms[0].course", observation.ReasonRequired},
		{"grade", func(b *Batch) { b.Classrooms[0].Grade = "third" }, "classrooms[0].grade", reasonBadGrade},
		{"grade 13", func(b *Batch) { b.Classrooms[0].Grade = "13" }, "classrooms[0].grade", reasonBadGrade},
		{"teacher id", func(b *Batch) { b.Classrooms[0].TeacherID = "-x" }, "classrooms[0].teacher_id", observation.ReasonBadID},
		{"section", func(b *Batch) { b.Classrooms[0].Section = strings.Repeat("x", maxLabelLength+1) }, "classrooms[0].section", observation.ReasonTooLong},
		{"staff role", func(b *Batch) { b.Staff[0].Role = "wizard" }, "staff[0].role", reasonBadStaffRole},
		{"staff no role", func(b *Batch) { b.Staff[0].Role = "" }, "staff[0].role", observation.ReasonRequired},
		{"email", func(b *Batch) { b.Staff[0].Email = "nobody" }, "staff[0].email", reasonBadEmail},
		{"staff site", func(b *Batch) { b.Staff[0].SiteIDs = []string{"s1", "bad site"} }, "staff[0].site_ids[1]", observation.ReasonBadID},
		{"name NUL", func(b *Batch) { b.Staff[0].GivenName = "a\x00" }, "staff[0].given_name", observation.ReasonInvalidUTF8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ok
			b.Sites, b.Classrooms, b.Staff = slices.Clone(ok.Sites), slices.Clone(ok.Classrooms), slices.Clone(ok.Staff)
			c.mutate(&b)
			err := b.validate(bulkLocator)
			var e *observation.Error
			if !errors.As(err, &e) || e.Field != c.field || e.Reason != c.reason {
				t.Fatalf("got %v (%+v), want field %s reason %s", err, e, c.field, c.reason)
			}
		})
	}
}

func TestRosterAccess(t *testing.T) {
	p := func(role observation.Role, district string) observation.Principal {
		return observation.Principal{UserID: "u", Role: role, DistrictID: district}
	}
	cases := []struct {
		who   observation.Principal
		write bool
		want  observation.Kind
	}{
		{p(observation.RoleDistrictAdmin, "d1"), true, 0},
		{p(observation.RoleAdmin, ""), true, 0},
		{p(observation.RoleCoach, "d1"), false, 0},
		{p(observation.RolePrincipal, "d1"), false, 0},
		{p(observation.RoleCoach, "d1"), true, observation.KindPermissionDenied},
		{p(observation.RolePrincipal, "d1"), true, observation.KindPermissionDenied},
		{p(observation.RoleDistrictAdmin, "d2"), false, observation.KindNotFound},
		{p(observation.RoleCoach, "d2"), true, observation.KindNotFound},
		{p(observation.RoleNetworkAnalyst, ""), false, observation.KindPermissionDenied},
	}
	for _, c := range cases {
		if got := observation.KindOf(access(c.who, "d1", c.write)); got != c.want {
			t.Errorf("%s of %q, write=%v: %v, want %v", c.who.Role, c.who.DistrictID, c.write, got, c.want)
		}
	}
	if observation.KindOf(access(p(observation.RoleAdmin, ""), "network", false)) != observation.KindInvalid {
		t.Error("the network owner id is not a district")
	}
}

func TestPageTokens(t *testing.T) {
	for _, id := range []string{"a", "riverbend-usd.lincoln-es.g3-b", "x:y"} {
		after, err := PageAfter(pageToken(id))
		if err != nil || after != id {
			t.Errorf("round trip of %q: %q, %v", id, after, err)
		}
	}
	if _, err := PageAfter("!!"); observation.KindOf(err) != observation.KindInvalid {
		t.Errorf("bad token: %v", err)
	}
	if after, err := PageAfter(""); after != "" || err != nil {
		t.Errorf("empty token: %q, %v", after, err)
	}
}
