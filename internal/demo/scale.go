package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
)

// ScaleConfig sizes a generated network (see Scale).
type ScaleConfig struct {
	Districts         int   // 1 to MaxScaleDistricts
	SitesPerDistrict  int   // 1 to MaxScaleSites
	ClassroomsPerSite int   // 1 to MaxScaleClassrooms
	Seed              int64 // picks names, grade bands and settings; part of every district id
}

// Limits of a generated network.
const (
	maxScaleDistricts  = 1000
	maxScaleSites      = 1000 // per district
	maxScaleClassrooms = 500  // per site
)

// Validate reports the first size outside its limits.
func (c ScaleConfig) Validate() error {
	for _, f := range []struct {
		name    string
		n, most int
	}{
		{"districts", c.Districts, maxScaleDistricts},
		{"sites per district", c.SitesPerDistrict, maxScaleSites},
		{"classrooms per site", c.ClassroomsPerSite, maxScaleClassrooms},
	} {
		if f.n < 1 || f.n > f.most {
			return fmt.Errorf("demo: %s must be 1 to %d, got %d", f.name, f.most, f.n)
		}
	}
	return nil
}

// Scale returns a generated fictional network of any size, shaped like Network: per district a
// district admin, sites (about seven in ten elementary, the rest middle schools) each with a
// principal, coaches covering two or three sites each (every site has at least one), and one
// teacher per classroom; the classrooms of a site cover every grade of its band. Settings start
// from the network defaults with Network's three windows and six student groups.
//
// The result depends only on cfg: equal configs give equal rosters. Ids are readable and valid
// (observation.ValidateID) and unique across the network; district ids end in the seed
// ("cedarbrook-usd-s42"), so networks of different seeds never share a district — nor do they
// share one with Network.
func Scale(cfg ScaleConfig) (Roster, error) {
	if err := cfg.Validate(); err != nil {
		return Roster{}, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7363616c65)) // "scale"
	var r Roster
	r.Districts = make([]observation.District, 0, cfg.Districts)
	r.Sites = make([]observation.Site, 0, cfg.Districts*cfg.SitesPerDistrict)
	r.Classrooms = make([]observation.Classroom, 0, cfg.Districts*cfg.SitesPerDistrict*cfg.ClassroomsPerSite)

	people := &namer{next: rng.IntN(len(givenNames) * len(familyNames)), emails: map[string]bool{}}
	seedTag := "s" + strconv.FormatInt(cfg.Seed, 10)
	places := rng.Perm(len(placeFirst) * len(placeSecond))
	for dn := 0; dn < cfg.Districts; dn++ {
		p := places[dn%len(places)]
		place := placeFirst[p/len(placeSecond)] + placeSecond[p%len(placeSecond)]
		if round := dn / len(places); round > 0 { // more districts than place names: number them
			place += " " + strconv.Itoa(round+1)
		}
		kind, kindName := "usd", "Unified School District"
		if rng.IntN(3) == 0 {
			kind, kindName = "sd", "School District"
		}
		d := slug(place) + "-" + kind + "-" + seedTag
		spec := districtSpec{id: d, name: place + " " + kindName, startMonth: 8, networkOptIn: rng.IntN(3) > 0}
		if rng.IntN(4) == 0 {
			spec.startMonth = 7
		}
		for _, g := range groupLabels {
			spec.groups = append(spec.groups, observation.StudentGroup{Key: g.key, Label: g.labels[rng.IntN(len(g.labels))]})
		}
		r.Districts = append(r.Districts, observation.District{ID: d, Name: spec.name, Settings: settings(spec)})
		r.Staff = append(r.Staff, people.staff(d, d+".district-admin", roster.StaffDistrictAdmin, nil))

		// Sites: elementary schools first, then middle schools, named after people and places.
		sites := cfg.SitesPerDistrict
		middle := 0
		if sites > 1 {
			middle = max(1, (sites*3+5)/10)
		}
		names := rng.Perm(len(schoolNames))
		siteIDs := make([]string, sites)
		usedSlugs := map[string]bool{}
		for sn := 0; sn < sites; sn++ {
			base := schoolNames[names[sn%len(names)]]
			if round := sn / len(names); round > 0 {
				base = schoolPrefixes[(round-1)%len(schoolPrefixes)] + " " + base
				if round > len(schoolPrefixes) {
					base += " " + strconv.Itoa((round-1)/len(schoolPrefixes)+1)
				}
			}
			band, name, suffix := bandElementary, base+" Elementary School", "-es"
			if sn >= sites-middle {
				band, name, suffix = bandMiddle, base+" Middle School", "-ms"
			}
			s := slug(base) + suffix
			for n := 2; usedSlugs[s]; n++ { // two names that fold to one slug
				s = slug(base) + suffix + "-" + strconv.Itoa(n)
			}
			usedSlugs[s] = true
			siteIDs[sn] = d + "." + s
			r.Sites = append(r.Sites, observation.Site{DistrictID: d, ID: siteIDs[sn], Name: name, GradeBand: band})
		}

		// Coaches: coach c covers sites 2c and 2c+1; every other coach also covers the next
		// pair's first site, so some sites share two coaches as in Network.
		coaches := (sites + 1) / 2
		if sites == 1 {
			coaches = 1
		}
		for c := 0; c < coaches; c++ {
			var cover []string
			for _, i := range []int{2 * c, 2*c + 1} {
				if i < sites {
					cover = append(cover, siteIDs[i])
				}
			}
			if (c%2 == 1 || len(cover) < 2) && 2*c+2 < sites {
				cover = append(cover, siteIDs[2*c+2])
			}
			if len(cover) < 2 && sites > 1 && 2*c-1 >= 0 { // the last, odd site: share the previous one
				cover = append([]string{siteIDs[2*c-1]}, cover...)
			}
			r.Staff = append(r.Staff, people.staff(d, fmt.Sprintf("%s.coach-%02d", d, c+1), roster.StaffCoach, cover))
		}

		teacherN := 0
		for sn := 0; sn < sites; sn++ {
			site := r.Sites[len(r.Sites)-sites+sn]
			slugPart := strings.TrimPrefix(site.ID, d+".")
			r.Staff = append(r.Staff, people.staff(d, d+".principal-"+slugPart, roster.StaffPrincipal, []string{site.ID}))
			isMiddle := site.GradeBand == bandMiddle
			for k := 0; k < cfg.ClassroomsPerSite; k++ {
				teacherN++
				teacherID := fmt.Sprintf("%s.teacher-%04d", d, teacherN)
				r.Staff = append(r.Staff, people.staff(d, teacherID, roster.StaffTeacher, []string{site.ID}))
				cs, id := scaleClass(k, isMiddle)
				r.Classrooms = append(r.Classrooms, observation.Classroom{
					DistrictID: d,
					ID:         site.ID + "." + id,
					SiteID:     site.ID,
					Course:     cs.course,
					Grade:      cs.grade,
					Section:    cs.section,
					TeacherID:  teacherID,
				})
			}
		}
	}
	return r, nil
}

// scaleClass is the k-th math class of a site: grades in turn (K-5 or 6-8), then sections A, B,
// … (elementary) or 1, 2, … (middle); the id is unique within the site ("g3-b", "g7-s2").
func scaleClass(k int, middle bool) (classSpec, string) {
	if middle {
		grade := strconv.Itoa(6 + k%3)
		n := k/3 + 1
		course := "Math " + grade
		if n == 4 {
			course = map[string]string{"6": "Math 6 Support", "7": "Accelerated Math 7", "8": "Algebra 1"}[grade]
		}
		return classSpec{course, grade, strconv.Itoa(n)}, "g" + grade + "-s" + strconv.Itoa(n)
	}
	grades := []string{"K", "1", "2", "3", "4", "5"}
	grade := grades[k%len(grades)]
	sec := sectionLetters(k / len(grades))
	return classSpec{"Mathematics " + grade, grade, sec}, "g" + strings.ToLower(grade) + "-" + strings.ToLower(sec)
}

// sectionLetters names section n (from 0): A … Z, AA, AB, ….
func sectionLetters(n int) string {
	s := ""
	for n++; n > 0; n = (n - 1) / 26 {
		s = string(rune('A'+(n-1)%26)) + s
	}
	return s
}

// namer hands out fictional people in turn, with network-unique email addresses.
type namer struct {
	next   int
	emails map[string]bool
}

func (p *namer) staff(districtID, id string, role roster.StaffRole, sites []string) roster.Staff {
	given, family := person(p.next)
	p.next++
	local := emailLocal(given, family)
	email := local + "@" + emailDomain
	for n := 2; p.emails[email]; n++ {
		email = local + strconv.Itoa(n) + "@" + emailDomain
	}
	p.emails[email] = true
	return roster.Staff{
		DistrictID: districtID,
		ID:         id,
		GivenName:  given,
		FamilyName: family,
		Email:      email,
		Role:       role,
		SiteIDs:    sites,
	}
}

// slug turns a name into a lowercase id part: "César Chávez" -> "cesar-chavez".
func slug(s string) string {
	s = asciiFold.Replace(strings.ToLower(s))
	var b strings.Builder
	dash := false
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// District place names are a first part and a second part ("Cedar" + "brook").
var (
	placeFirst = []string{
		"Cedar", "Pine", "Oak", "Willow", "Silver", "Clear", "Red", "Maple", "Stone", "Elm",
		"Fox", "Eagle", "Spring", "Bright", "Fair", "Green", "High", "Mill", "North", "South",
		"East", "West", "Sun", "Bay", "Rock", "Iron", "Deer", "Hawk", "Golden", "Aspen",
	}
	placeSecond = []string{
		"brook", "field", "wood", "dale", "haven", "port", "view", "crest", "ridge", "water",
		"ford", "ton", "mont", "vale", "creek",
	}
)

// schoolNames are the namesakes of generated schools; schoolPrefixes tell apart schools of one
// district that share a namesake once the list runs out.
var (
	schoolNames = []string{
		"Lincoln", "Cedar Grove", "Harriet Tubman", "Roosevelt", "Sunrise", "César Chávez", "Canyon View",
		"Desert Willow", "Maple Street", "Pine Hollow", "Mae Jemison", "Bayside", "Frederick Douglass",
		"Sojourner Truth", "Dolores Huerta", "Ellen Ochoa", "Katherine Johnson", "Sequoyah", "Fred Korematsu",
		"Patsy Mink", "Sylvia Mendez", "Thurgood Marshall", "Rosa Parks", "Wilma Mankiller", "Jackie Robinson",
		"Oak Park", "Riverside", "Hillcrest", "Meadowbrook", "Lakeview", "Westwood", "Eastside", "Northgate",
		"Southridge", "Valley Oak", "Brookside", "Highland", "Parkside", "Mountain View", "Sierra Vista",
		"Mesa Linda", "Golden Gate", "Evergreen", "Willow Creek", "Stonegate", "Fairview", "Garfield",
		"Jefferson", "Franklin", "Washington", "Ida B. Wells", "Benjamin Banneker", "Grace Hopper",
		"Mary McLeod Bethune", "Carter G. Woodson", "Chief Joseph", "Daniel Inouye", "Hiram Revels",
		"Octavia Butler", "Langston Hughes",
	}
	schoolPrefixes = []string{"North", "South", "East", "West", "Upper", "Lower"}
)

// groupLabels are the labels districts give their student groups, per key (as in Network).
var groupLabels = []struct {
	key    string
	labels []string
}{
	{"ml", []string{"Multilingual learners", "English learners (ELD levels 1-4)", "Emergent bilingual students"}},
	{"iep", []string{"Students with IEPs", "Students with disabilities (IEP)", "Students with IEPs or 504 plans"}},
	{"group_a", []string{"Black or African American students", "Hispanic or Latino students", "Black students"}},
	{"group_b", []string{"Latine students", "Native American students", "Pacific Islander students"}},
	{"group_c", []string{"Students eligible for free or reduced-price meals", "Socioeconomically disadvantaged students",
		"Southeast Asian students"}},
	{"group_d", []string{"All other students", "Students not in another listed group", "Students experiencing housing instability"}},
}
