// Package demo builds a small, fixed, fictional network of districts, schools, classrooms and
// staff for local development, demos and tests. Everything here is invented: no real district,
// school, adult or student. The output is deterministic: every call returns equal data.
//
// It is a development tool: it may import any lookfor package; only cmd/, other development
// tools and tests import it.
package demo

import (
	"fmt"
	"strings"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
)

// Roster is a complete demo roster for the network.
type Roster struct {
	Districts  []observation.District
	Sites      []observation.Site
	Classrooms []observation.Classroom
	Staff      []roster.Staff
	// NetworkStaff are the network-level people: one network analyst and one admin.
	NetworkStaff []identity.NetworkStaff
}

// demoUser is a ready sign-in identity for one role, labelled for printing dev tokens.
type demoUser struct {
	Label     string
	Principal observation.Principal
}

// Grade bands used by demo sites.
const (
	bandElementary = "K-5"
	bandMiddle     = "6-8"
)

// emailDomain is the domain of every demo email address (reserved for documentation, RFC 2606).
const emailDomain = "example.org"

type siteSpec struct {
	slug, name, band string
}

type districtSpec struct {
	id, name     string
	startMonth   int
	networkOptIn bool
	groups       []observation.StudentGroup
	sites        [4]siteSpec
	coachSites   [2][]int // indexes into sites, per coach
}

var districtSpecs = []districtSpec{
	{
		id: "riverbend-usd", name: "Riverbend Unified School District",
		startMonth: 8, networkOptIn: true,
		groups: []observation.StudentGroup{
			{Key: "ml", Label: "Multilingual learners"},
			{Key: "iep", Label: "Students with IEPs"},
			{Key: "group_a", Label: "Black or African American students"},
			{Key: "group_b", Label: "Latine students"},
			{Key: "group_c", Label: "Students eligible for free or reduced-price meals"},
			{Key: "group_d", Label: "All other students"},
		},
		sites: [4]siteSpec{
			{"lincoln-es", "Lincoln Elementary School", bandElementary},
			{"cedar-grove-es", "Cedar Grove Elementary School", bandElementary},
			{"harriet-tubman-es", "Harriet Tubman Elementary School", bandElementary},
			{"roosevelt-ms", "Roosevelt Middle School", bandMiddle},
		},
		coachSites: [2][]int{{0, 1, 2}, {2, 3}},
	},
	{
		id: "mesa-verde-sd", name: "Mesa Verde School District",
		startMonth: 8, networkOptIn: false,
		groups: []observation.StudentGroup{
			{Key: "ml", Label: "English learners (ELD levels 1-4)"},
			{Key: "iep", Label: "Students with disabilities (IEP)"},
			{Key: "group_a", Label: "Hispanic or Latino students"},
			{Key: "group_b", Label: "Native American students"},
			{Key: "group_c", Label: "Socioeconomically disadvantaged students"},
			{Key: "group_d", Label: "Students not in another listed group"},
		},
		sites: [4]siteSpec{
			{"sunrise-es", "Sunrise Elementary School", bandElementary},
			{"cesar-chavez-es", "César Chávez Elementary School", bandElementary},
			{"canyon-view-ms", "Canyon View Middle School", bandMiddle},
			{"desert-willow-ms", "Desert Willow Middle School", bandMiddle},
		},
		coachSites: [2][]int{{0, 1}, {1, 2, 3}},
	},
	{
		id: "lakeshore-usd", name: "Lakeshore Unified School District",
		startMonth: 7, networkOptIn: true,
		groups: []observation.StudentGroup{
			{Key: "ml", Label: "Multilingual learners"},
			{Key: "iep", Label: "Students with IEPs or 504 plans"},
			{Key: "group_a", Label: "Black students"},
			{Key: "group_b", Label: "Latine students"},
			{Key: "group_c", Label: "Southeast Asian students"},
			{Key: "group_d", Label: "Students experiencing housing instability"},
		},
		sites: [4]siteSpec{
			{"maple-street-es", "Maple Street Elementary School", bandElementary},
			{"pine-hollow-es", "Pine Hollow Elementary School", bandElementary},
			{"mae-jemison-es", "Mae Jemison Elementary School", bandElementary},
			{"bayside-ms", "Bayside Middle School", bandMiddle},
		},
		coachSites: [2][]int{{0, 1}, {2, 3}},
	},
}

// Given and family names are combined by index so that every demo person has a distinct full
// name. The list lengths (60 and 59) are coprime, which makes pairs unique for thousands of people.
var givenNames = []string{
	"Amara", "Mateo", "Mei", "Tariq", "Priya", "Santiago", "Aiyana", "Oluwaseun", "Hana", "Diego",
	"Fatima", "Kai", "Ngozi", "Lucía", "Arjun", "Leilani", "Dmitri", "Yasmin", "Thanh", "Marisol",
	"Kwame", "Ingrid", "Rafael", "Ayesha", "Tomás", "Keiko", "Jamal", "Zainab", "Emeka", "Sofía",
	"Hiroshi", "Nadia", "Malik", "Anaïs", "Chidi", "Rosa", "Sung-min", "Esperanza", "Omar", "Talia",
	"Bao", "Imani", "Joaquín", "Aroha", "Farid", "Greta", "Kofi", "Luz", "Ravi", "Nia",
	"Wren", "Adebayo", "Camila", "Hamza", "Ji-woo", "Noor", "Pablo", "Sakura", "Tendai", "Zoë",
}

var familyNames = []string{
	"Okafor", "Hernández", "Chen", "Haddad", "Nguyen", "Patel", "Begay", "Adeyemi", "Kim", "Ramírez",
	"Khan", "Kealoha", "Ivanova", "Morales", "Sharma", "Tanaka", "Mensah", "Lindqvist", "O'Brien", "Castillo",
	"Abdullah", "Yamamoto", "Washington", "Flores", "Tran", "Osei", "Gutiérrez", "Park", "Nakamura", "Silva",
	"Mbeki", "Herrera", "Rahman", "Dubois", "Ortiz", "Singh", "Johnson", "Aguilar", "Vu", "Yazzie",
	"Ferreira", "Obi", "Cohen", "Le", "Mendoza", "Ali", "Kowalski", "Reyes", "Achebe", "Jiménez",
	"Bui", "Hassan", "Delgado", "Lee", "Torres", "Nwosu", "Santos", "Takahashi", "Walker",
}

// person returns the n-th fictional person of the network (n counts from 0 across all districts).
func person(n int) (given, family string) {
	return givenNames[(n*7)%len(givenNames)], familyNames[(n*13)%len(familyNames)]
}

var asciiFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a",
	"é", "e", "è", "e", "ê", "e", "ë", "e",
	"í", "i", "ì", "i", "î", "i", "ï", "i",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o",
	"ú", "u", "ù", "u", "û", "u", "ü", "u",
	"ñ", "n", "ç", "c",
)

// emailLocal turns a name into a plain ASCII email local part: "Zoë O'Brien" -> "zoe.obrien".
func emailLocal(given, family string) string {
	part := func(s string) string {
		s = asciiFold.Replace(strings.ToLower(s))
		var b strings.Builder
		for _, r := range s {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	return part(given) + "." + part(family)
}

// settings returns a district's demo settings, starting from the network defaults.
func settings(spec districtSpec) observation.DistrictSettings {
	s := observation.DefaultDistrictSettings()
	s.SchoolYearStartMonth = spec.startMonth
	s.NetworkOptIn = spec.networkOptIn
	s.Windows = []observation.NamedWindow{
		{Key: "baseline", Title: "Baseline (fall)", StartMonth: 8, StartDay: 15, EndMonth: 10, EndDay: 15},
		{Key: "mid_year", Title: "Mid-year check-in", StartMonth: 1, StartDay: 5, EndMonth: 2, EndDay: 28},
		{Key: "end_of_year", Title: "End of year (spring)", StartMonth: 4, StartDay: 15, EndMonth: 6, EndDay: 10},
	}
	s.StudentGroups = append([]observation.StudentGroup(nil), spec.groups...)
	return s
}

type classSpec struct {
	course, grade, section string
}

// elementaryClasses lists the math classes of a K-5 school: two sections per grade, and a third
// section of grade 3 at larger schools.
func elementaryClasses(n int) []classSpec {
	grades := []string{"K", "1", "2", "3", "4", "5"}
	var out []classSpec
	for _, g := range grades {
		for _, sec := range []string{"A", "B"} {
			out = append(out, classSpec{"Mathematics " + g, g, sec})
		}
	}
	if n > len(out) {
		out = append(out, classSpec{"Mathematics 3", "3", "C"})
	}
	return out[:n]
}

// middleClasses lists the math sections of a 6-8 school, by period.
func middleClasses(n int) []classSpec {
	all := []classSpec{
		{"Math 6", "6", "1"}, {"Math 6", "6", "2"}, {"Math 6", "6", "4"}, {"Math 6 Support", "6", "5"},
		{"Math 7", "7", "1"}, {"Math 7", "7", "3"}, {"Math 7", "7", "6"}, {"Accelerated Math 7", "7", "2"},
		{"Math 8", "8", "2"}, {"Math 8", "8", "4"}, {"Math 8 / Algebra readiness", "8", "3"},
		{"Algebra 1", "8", "5"}, {"Math 8", "8", "6"},
	}
	return all[:n]
}

// classroomID is readable and unique within a district: "<site id>.g3-b", "<site id>.g7-p2".
func classroomID(siteID string, c classSpec, middle bool) string {
	sec := strings.ToLower(c.section)
	if middle {
		sec = "p" + sec
	}
	return fmt.Sprintf("%s.g%s-%s", siteID, strings.ToLower(c.grade), sec)
}

// Network returns the demo network: 3 districts, 12 sites (4 per district, elementary and middle),
// 150 classrooms (12 or 13 per site), one teacher per classroom, a principal per site, two
// coaches and one district admin per district. Every call returns equal, freshly allocated data.
func Network() Roster {
	var r Roster
	personN := 0
	newStaff := func(districtID, id string, role roster.StaffRole, sites []string) roster.Staff {
		given, family := person(personN)
		personN++
		return roster.Staff{
			DistrictID: districtID,
			ID:         id,
			GivenName:  given,
			FamilyName: family,
			Email:      emailLocal(given, family) + "@" + emailDomain,
			Role:       role,
			SiteIDs:    sites,
		}
	}
	siteN := 0
	for _, spec := range districtSpecs {
		d := spec.id
		r.Districts = append(r.Districts, observation.District{ID: d, Name: spec.name, Settings: settings(spec)})
		r.Staff = append(r.Staff, newStaff(d, d+".district-admin", roster.StaffDistrictAdmin, nil))

		siteIDs := make([]string, len(spec.sites))
		for i, ss := range spec.sites {
			siteIDs[i] = d + "." + ss.slug
		}
		for c, idx := range spec.coachSites {
			sites := make([]string, len(idx))
			for i, j := range idx {
				sites[i] = siteIDs[j]
			}
			r.Staff = append(r.Staff, newStaff(d, fmt.Sprintf("%s.coach-%d", d, c+1), roster.StaffCoach, sites))
		}

		teacherN := 0
		for i, ss := range spec.sites {
			siteID := siteIDs[i]
			r.Sites = append(r.Sites, observation.Site{DistrictID: d, ID: siteID, Name: ss.name, GradeBand: ss.band})
			r.Staff = append(r.Staff, newStaff(d, d+".principal-"+ss.slug, roster.StaffPrincipal, []string{siteID}))

			n := 12 + (siteN+1)%2 // 13, 12, 13, 12, ... across the network
			siteN++
			middle := ss.band == bandMiddle
			var classes []classSpec
			if middle {
				classes = middleClasses(n)
			} else {
				classes = elementaryClasses(n)
			}
			for _, cs := range classes {
				teacherN++
				teacherID := fmt.Sprintf("%s.teacher-%03d", d, teacherN)
				r.Staff = append(r.Staff, newStaff(d, teacherID, roster.StaffTeacher, []string{siteID}))
				r.Classrooms = append(r.Classrooms, observation.Classroom{
					DistrictID: d,
					ID:         classroomID(siteID, cs, middle),
					SiteID:     siteID,
					Course:     cs.course,
					Grade:      cs.grade,
					Section:    cs.section,
					TeacherID:  teacherID,
				})
			}
		}
	}
	r.NetworkStaff = []identity.NetworkStaff{
		{StaffID: "analyst-1", GivenName: "Nadia", FamilyName: "Okafor", Email: "nadia.okafor@" + emailDomain, Role: observation.RoleNetworkAnalyst},
		{StaffID: "admin-1", GivenName: "Tomas", FamilyName: "Lindqvist", Email: "tomas.lindqvist@" + emailDomain, Role: observation.RoleAdmin},
	}
	return r
}

// rosterRole is the roster role of staff who sign in with a district-scoped role.
var rosterRole = map[observation.Role]roster.StaffRole{
	observation.RoleCoach:         roster.StaffCoach,
	observation.RolePrincipal:     roster.StaffPrincipal,
	observation.RoleDistrictAdmin: roster.StaffDistrictAdmin,
}

// Principals returns one sign-in identity per role (in observation.Roles order), taken from the
// first district of r: its first coach, its first site's principal and its district admin, plus
// a network analyst ("analyst-1") and an admin ("admin-1") with no district. Roles for which r
// has no matching staff row are left out.
func Principals(r Roster) []demoUser {
	var districtID string
	if len(r.Districts) > 0 {
		districtID = r.Districts[0].ID
	}
	first := func(role roster.StaffRole) (roster.Staff, bool) {
		for _, s := range r.Staff {
			if s.DistrictID == districtID && s.Role == role {
				return s, true
			}
		}
		return roster.Staff{}, false
	}
	label := func(s roster.Staff, what string) string {
		return fmt.Sprintf("%s %s (%s, %s)", s.GivenName, s.FamilyName, what, districtID)
	}
	var out []demoUser
	for _, role := range observation.Roles {
		switch role {
		case observation.RoleCoach, observation.RolePrincipal, observation.RoleDistrictAdmin:
			if districtID == "" {
				continue
			}
			s, ok := first(rosterRole[role])
			if !ok {
				continue
			}
			var sites []string
			if role != observation.RoleDistrictAdmin {
				sites = append([]string(nil), s.SiteIDs...)
			}
			out = append(out, demoUser{
				Label:     label(s, string(role)),
				Principal: observation.Principal{UserID: s.ID, Role: role, DistrictID: districtID, SiteIDs: sites},
			})
		case observation.RoleNetworkAnalyst:
			out = append(out, demoUser{
				Label:     "Network analyst (all opted-in districts)",
				Principal: observation.Principal{UserID: "analyst-1", Role: role},
			})
		case observation.RoleAdmin:
			out = append(out, demoUser{
				Label:     "Network admin",
				Principal: observation.Principal{UserID: "admin-1", Role: role},
			})
		}
	}
	return out
}
