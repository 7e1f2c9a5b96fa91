package demo

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
)

func mustScale(t *testing.T, cfg ScaleConfig) Roster {
	t.Helper()
	r, err := Scale(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestScaleCounts(t *testing.T) {
	for _, cfg := range []ScaleConfig{
		{Districts: 1, SitesPerDistrict: 1, ClassroomsPerSite: 1, Seed: 1},
		{Districts: 2, SitesPerDistrict: 3, ClassroomsPerSite: 4, Seed: 7},
		{Districts: 3, SitesPerDistrict: 5, ClassroomsPerSite: 13, Seed: -3},
		{Districts: 10, SitesPerDistrict: 30, ClassroomsPerSite: 25, Seed: 42},
	} {
		r := mustScale(t, cfg)
		sites := cfg.Districts * cfg.SitesPerDistrict
		rooms := sites * cfg.ClassroomsPerSite
		if len(r.Districts) != cfg.Districts || len(r.Sites) != sites || len(r.Classrooms) != rooms {
			t.Errorf("%+v: %d districts, %d sites, %d classrooms; want %d, %d, %d",
				cfg, len(r.Districts), len(r.Sites), len(r.Classrooms), cfg.Districts, sites, rooms)
		}
		roles := map[roster.StaffRole]int{}
		for _, s := range r.Staff {
			roles[s.Role]++
		}
		coaches := cfg.Districts * max(1, (cfg.SitesPerDistrict+1)/2)
		if roles[roster.StaffTeacher] != rooms || roles[roster.StaffPrincipal] != sites ||
			roles[roster.StaffDistrictAdmin] != cfg.Districts || roles[roster.StaffCoach] != coaches {
			t.Errorf("%+v: staff by role %v; want %d teachers, %d principals, %d district admins, %d coaches",
				cfg, roles, rooms, sites, cfg.Districts, coaches)
		}
		if len(r.Staff) != rooms+sites+cfg.Districts+coaches {
			t.Errorf("%+v: %d staff, want exactly the roles counted", cfg, len(r.Staff))
		}
		bands := map[string]int{}
		for _, s := range r.Sites {
			bands[s.GradeBand]++
		}
		if cfg.SitesPerDistrict > 1 && (bands[bandElementary] <= bands[bandMiddle] || bands[bandMiddle] == 0) {
			t.Errorf("%+v: grade bands %v, want mostly elementary and some middle schools", cfg, bands)
		}
	}
}

// TestScaleValid checks what the store and ValidateRecord rely on: valid, unique ids; staff,
// sites and classrooms in their own district; every site with a principal and a coach; valid
// settings.
func TestScaleValid(t *testing.T) {
	cfg := ScaleConfig{Districts: 4, SitesPerDistrict: 31, ClassroomsPerSite: 30, Seed: 99}
	r := mustScale(t, cfg)
	checkIDs(t, "district", ids(r.Districts, func(d observation.District) string { return d.ID }))
	checkIDs(t, "site", ids(r.Sites, func(s observation.Site) string { return s.ID }))
	checkIDs(t, "classroom", ids(r.Classrooms, func(c observation.Classroom) string { return c.ID }))
	checkIDs(t, "staff", ids(r.Staff, func(s roster.Staff) string { return s.ID }))
	emails := map[string]bool{}
	for _, s := range r.Staff {
		if emails[s.Email] {
			t.Errorf("staff %s: email %s is used twice", s.ID, s.Email)
		}
		emails[s.Email] = true
	}

	demoDistricts := ids(Network().Districts, func(d observation.District) string { return d.ID })
	districts := map[string]bool{}
	for _, d := range r.Districts {
		districts[d.ID] = true
		if err := observation.ValidateDistrictID("district", d.ID); err != nil {
			t.Error(err)
		}
		if slices.Contains(demoDistricts, d.ID) {
			t.Errorf("district %s collides with the demo network", d.ID)
		}
		if !strings.HasSuffix(d.ID, "-s99") || d.Name == "" {
			t.Errorf("district %q (%q): want a name and an id ending in the seed", d.ID, d.Name)
		}
		if err := observation.ValidateDistrictSettings(d.Settings); err != nil {
			t.Errorf("district %s: %v", d.ID, err)
		}
		if err := progress.ValidateWindowOverlap(d.Settings); err != nil {
			t.Errorf("district %s: %v", d.ID, err)
		}
		s := d.Settings
		if len(s.Windows) != 3 || len(s.StudentGroups) != 6 {
			t.Errorf("district %s: %d windows and %d student groups, want 3 and 6", d.ID, len(s.Windows), len(s.StudentGroups))
		}
		checkIDs(t, "student group of "+d.ID, ids(s.StudentGroups, func(g observation.StudentGroup) string { return g.Key }))
		for _, g := range s.StudentGroups {
			if g.Label == "" {
				t.Errorf("district %s: group %s has no label", d.ID, g.Key)
			}
		}
	}
	sites := map[string]observation.Site{}
	for _, s := range r.Sites {
		sites[s.ID] = s
		if !districts[s.DistrictID] || !strings.HasPrefix(s.ID, s.DistrictID+".") || s.Name == "" {
			t.Errorf("site %+v: not a named site of a district of the network", s)
		}
		if err := observation.ValidateID("site", s.ID); err != nil {
			t.Error(err)
		}
	}
	staff := map[string]roster.Staff{}
	principals, coaches := map[string]int{}, map[string]int{}
	for _, s := range r.Staff {
		staff[s.ID] = s
		if !districts[s.DistrictID] || !strings.HasPrefix(s.ID, s.DistrictID+".") {
			t.Errorf("staff %s: not of a district of the network (%q)", s.ID, s.DistrictID)
		}
		if err := observation.ValidateID("staff", s.ID); err != nil {
			t.Error(err)
		}
		if s.GivenName == "" || s.FamilyName == "" || !strings.HasSuffix(s.Email, "@"+emailDomain) {
			t.Errorf("staff %s: name %q %q, email %q", s.ID, s.GivenName, s.FamilyName, s.Email)
		}
		for _, site := range s.SiteIDs {
			if got, ok := sites[site]; !ok || got.DistrictID != s.DistrictID {
				t.Errorf("staff %s: site %q is not a site of %s", s.ID, site, s.DistrictID)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(s.SiteIDs)))) != len(s.SiteIDs) {
			t.Errorf("staff %s: duplicate sites %v", s.ID, s.SiteIDs)
		}
		switch s.Role {
		case roster.StaffTeacher, roster.StaffPrincipal:
			if len(s.SiteIDs) != 1 {
				t.Errorf("%s %s: sites %v, want one", s.Role, s.ID, s.SiteIDs)
			}
			if s.Role == roster.StaffPrincipal {
				principals[s.SiteIDs[0]]++
			}
		case roster.StaffCoach:
			if n := len(s.SiteIDs); n < 2 || n > 3 {
				t.Errorf("coach %s: %d sites, want 2-3", s.ID, n)
			}
			for _, site := range s.SiteIDs {
				coaches[site]++
			}
		case roster.StaffDistrictAdmin:
			if len(s.SiteIDs) != 0 {
				t.Errorf("district admin %s: sites %v", s.ID, s.SiteIDs)
			}
		default:
			t.Errorf("staff %s: role %q", s.ID, s.Role)
		}
	}
	for _, s := range r.Sites {
		if principals[s.ID] != 1 || coaches[s.ID] < 1 {
			t.Errorf("site %s: %d principals and %d coaches, want 1 and at least 1", s.ID, principals[s.ID], coaches[s.ID])
		}
	}
	bandGrades := map[string][]string{bandElementary: {"K", "1", "2", "3", "4", "5"}, bandMiddle: {"6", "7", "8"}}
	grades := map[string]map[string]bool{}
	teachers := map[string]int{}
	for _, c := range r.Classrooms {
		site, ok := sites[c.SiteID]
		if !ok || site.DistrictID != c.DistrictID || !strings.HasPrefix(c.ID, c.SiteID+".") {
			t.Errorf("classroom %s: site %q is not its district's", c.ID, c.SiteID)
			continue
		}
		if err := observation.ValidateID("classroom", c.ID); err != nil {
			t.Error(err)
		}
		if c.Course == "" || c.Section == "" || !slices.Contains(bandGrades[site.GradeBand], c.Grade) {
			t.Errorf("classroom %+v: course, section or grade missing or outside the band %s", c, site.GradeBand)
		}
		tch, ok := staff[c.TeacherID]
		if !ok || tch.Role != roster.StaffTeacher || tch.DistrictID != c.DistrictID || !slices.Contains(tch.SiteIDs, c.SiteID) {
			t.Errorf("classroom %s: teacher %q is not a teacher of its site", c.ID, c.TeacherID)
		}
		teachers[c.TeacherID]++
		if grades[c.SiteID] == nil {
			grades[c.SiteID] = map[string]bool{}
		}
		grades[c.SiteID][c.Grade] = true
	}
	for id, n := range teachers {
		if n != 1 {
			t.Errorf("teacher %s teaches %d classrooms, want 1", id, n)
		}
	}
	for _, s := range r.Sites {
		if len(grades[s.ID]) != len(bandGrades[s.GradeBand]) {
			t.Errorf("site %s covers grades %v, want every grade of %s", s.ID, grades[s.ID], s.GradeBand)
		}
	}
}

func TestScaleDeterministic(t *testing.T) {
	cfg := ScaleConfig{Districts: 3, SitesPerDistrict: 7, ClassroomsPerSite: 9, Seed: 5}
	a, b := mustScale(t, cfg), mustScale(t, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("equal configs gave different rosters")
	}
	a.Districts[0].Settings.StudentGroups[0].Label = "changed"
	if c := mustScale(t, cfg); !reflect.DeepEqual(b, c) {
		t.Fatal("editing one roster changed a later call's result")
	}
	cfg.Seed = 6
	other := mustScale(t, cfg)
	for _, d := range other.Districts {
		if slices.ContainsFunc(b.Districts, func(x observation.District) bool { return x.ID == d.ID }) {
			t.Errorf("seeds 5 and 6 share district %s", d.ID)
		}
	}
	// A larger network of the same seed keeps the smaller one's districts and sites (ids and
	// names), so a second, larger seed extends the first.
	big := mustScale(t, ScaleConfig{Districts: 5, SitesPerDistrict: 7, ClassroomsPerSite: 20, Seed: 5})
	if !reflect.DeepEqual(big.Districts[:3], b.Districts) {
		t.Error("more districts changed the first ones")
	}
	for i, s := range b.Sites {
		if big.Sites[i] != s {
			t.Errorf("more districts or classrooms changed site %d: %+v, was %+v", i, big.Sites[i], s)
		}
	}
	many := mustScale(t, ScaleConfig{Districts: 600, SitesPerDistrict: 1, ClassroomsPerSite: 1, Seed: 5})
	checkIDs(t, "district", ids(many.Districts, func(d observation.District) string { return d.ID }))
}

func TestScaleLimits(t *testing.T) {
	for _, cfg := range []ScaleConfig{
		{Districts: 0, SitesPerDistrict: 1, ClassroomsPerSite: 1},
		{Districts: 1, SitesPerDistrict: 0, ClassroomsPerSite: 1},
		{Districts: 1, SitesPerDistrict: 1, ClassroomsPerSite: 0},
		{Districts: maxScaleDistricts + 1, SitesPerDistrict: 1, ClassroomsPerSite: 1},
		{Districts: 1, SitesPerDistrict: maxScaleSites + 1, ClassroomsPerSite: 1},
		{Districts: 1, SitesPerDistrict: 1, ClassroomsPerSite: maxScaleClassrooms + 1},
	} {
		if _, err := Scale(cfg); err == nil {
			t.Errorf("Scale(%+v) = nil error, want a size error", cfg)
		}
	}
}

func TestSectionLetters(t *testing.T) {
	for n, want := range map[int]string{0: "A", 1: "B", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA"} {
		if got := sectionLetters(n); got != want {
			t.Errorf("sectionLetters(%d) = %q, want %q", n, got, want)
		}
	}
}
