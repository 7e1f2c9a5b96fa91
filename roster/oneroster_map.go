package roster

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// The mapping of an export to a roster batch: orgs to sites, classes to classrooms, teacher
// enrollments to classroom teachers, and the sites' grade bands.

// parseOneRoster maps OneRoster CSV files to a roster batch: orgs of type school become sites;
// users who are teachers, principals (administrator, principal, siteAdministrator) or district
// administrators become staff; classes become classrooms (title → course, grades → grade,
// classCode or periods → section, schoolSourcedId → site); teacher enrollments set each
// classroom's teacher (primary first). Students, their enrollments and every other file are never
// stored. Any problem fails the whole import: the error lists the files and lines.
func parseOneRoster(files OneRosterFiles, opts OneRosterOptions) (mappedRoster, error) {
	if files.empty() {
		return mappedRoster{}, observation.Invalid("orgs_csv", observation.ReasonRequired, "no files were given: send a zip or at least one of %s, %s, %s, %s",
			orgsCSV, usersCSV, classesCSV, enrollmentsCSV)
	}
	p := &oneRosterParser{}
	schools := map[string]int{} // school sourcedId → line
	otherOrgs := map[string]string{}
	if files.Orgs != "" {
		p.orgs(files.Orgs, schools, otherOrgs)
	}
	roles := map[string][]userRole{}
	if files.Roles != "" {
		p.roles(files.Roles, roles)
	}
	adults := map[string]adult{}
	if files.Users != "" {
		p.users(files.Users, files.Roles != "", roles, schools, otherOrgs, adults)
	} else if files.Roles != "" {
		p.fail(rolesCSV, 0, observation.ReasonRequired, "roles.csv needs users.csv for the users' names")
	}
	classIndex := map[string]int{}
	filtered := map[string]bool{}
	if files.Classes != "" {
		p.classes(files.Classes, opts, schools, otherOrgs, classIndex, filtered)
	}
	if files.Enrollments != "" {
		if files.Classes == "" {
			p.fail(enrollmentsCSV, 0, observation.ReasonRequired, "enrollments.csv needs classes.csv: teachers are set on the classes it lists")
		} else {
			p.enrollments(files.Enrollments, classIndex, filtered, adults)
		}
	}
	if len(p.problems) > 0 {
		return mappedRoster{}, p.error()
	}
	p.finish(schools)
	return p.out, nil
}

func (p *oneRosterParser) orgs(data string, schools map[string]int, other map[string]string) {
	t, iss := openCSV(orgsCSV, data)
	if iss == nil {
		iss = t.require("sourcedId", "name", "type")
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	p.each(t, func(r row) {
		deleted, ok := p.status(r)
		if !ok || deleted {
			return
		}
		typ := r.get("type")
		lt := strings.ToLower(typ)
		if !slices.Contains(oneRosterOrgTypes, lt) && !strings.HasPrefix(lt, "ext:") {
			p.fail(r.t.file, r.line, reasonBadOneRoster, "type %s is not a OneRoster org type (%s)", observation.Clip(typ), strings.Join(oneRosterOrgTypes, ", "))
			return
		}
		id := r.get("sourcedId")
		if lt != "school" {
			p.out.Skipped.OtherOrgs++
			if id != "" {
				other[id] = lt
			}
			return
		}
		id, ok = p.id(r, "sourcedId", "site")
		if !ok {
			return
		}
		if first, dup := schools[id]; dup {
			p.fail(r.t.file, r.line, reasonDuplicateID, "school %q is listed twice (first at line %d)", id, first)
			return
		}
		name := r.get("name")
		if name == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "school %q has no name", id)
			return
		}
		if name, ok = p.text(r, "name", name, maxNameLength); !ok {
			return
		}
		schools[id] = r.line
		p.out.Batch.Sites = append(p.out.Batch.Sites, observation.Site{ID: id, Name: name})
		p.out.siteLines = append(p.out.siteLines, r.line)
	})
}

// normalizeGrade maps a OneRoster (CEDS) grade code to lookfor's: KG → K, 01 → 1, PK and TK as
// they are; ok is false for codes lookfor has no grade for (IT, PR, PS, UG, 13, Other).
func normalizeGrade(g string) (string, bool) {
	switch u := strings.ToUpper(strings.TrimSpace(g)); u {
	case "KG", "K":
		return "K", true
	case "PK", "TK":
		return u, true
	default:
		n, err := strconv.Atoi(u)
		if err == nil && n >= 1 && n <= 12 && len(u) <= 2 {
			return strconv.Itoa(n), true
		}
	}
	return "", false
}

func (p *oneRosterParser) classes(data string, opts OneRosterOptions, schools map[string]int, otherOrgs map[string]string, index map[string]int, filtered map[string]bool) {
	t, iss := openCSV(classesCSV, data)
	if iss == nil {
		iss = t.require("sourcedId", "title", "schoolSourcedId")
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	lines := map[string]int{}
	p.each(t, func(r row) {
		deleted, ok := p.status(r)
		if !ok {
			return
		}
		if deleted {
			filtered[r.get("sourcedId")] = true
			return
		}
		if len(opts.Subjects) > 0 && !matchesSubject(r, opts.Subjects) {
			p.out.Skipped.FilteredClasses++
			filtered[r.get("sourcedId")] = true
			return
		}
		// A class with a problem is reported once, not again by each of its enrollments.
		filtered[r.get("sourcedId")] = true
		defer func() {
			if _, ok := index[r.get("sourcedId")]; ok {
				delete(filtered, r.get("sourcedId"))
			}
		}()
		id, ok := p.id(r, "sourcedId", "classroom")
		if !ok {
			return
		}
		if first, dup := lines[id]; dup {
			p.fail(r.t.file, r.line, reasonDuplicateID, "class %q is listed twice (first at line %d)", id, first)
			return
		}
		lines[id] = r.line
		c := observation.Classroom{ID: id}
		if c.Course = r.get("title"); c.Course == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "class %q has no title", id)
			return
		}
		if c.Course, ok = p.text(r, "title", c.Course, maxNameLength); !ok {
			return
		}
		var grades []string
		for _, g := range r.list("grades") {
			n, known := normalizeGrade(g)
			if !known {
				p.warn(r.t.file, r.line, "classes/grade/"+strings.ToUpper(g), fmt.Sprintf("grade %s has no lookfor grade and is left out", observation.Clip(g)))
				continue
			}
			if !slices.Contains(grades, n) {
				grades = append(grades, n)
			}
		}
		slices.SortFunc(grades, func(a, b string) int { return gradeRank(a) - gradeRank(b) })
		c.Grade = strings.Join(grades, ",")
		section := r.get("classCode")
		if section == "" {
			section = r.get("periods")
		}
		if c.Section, ok = p.text(r, "classCode", section, maxLabelLength); !ok {
			return
		}
		school := r.get("schoolSourcedId")
		switch _, other := otherOrgs[school]; {
		case school == "":
			p.fail(r.t.file, r.line, observation.ReasonRequired, "class %q has no schoolSourcedId", id)
			return
		case other:
			p.fail(r.t.file, r.line, observation.ReasonUnknownSite, "schoolSourcedId %q is a %s org in orgs.csv, not a school", school, otherOrgs[school])
			return
		}
		if err := observation.ValidateID("schoolSourcedId", school); err != nil {
			p.fail(r.t.file, r.line, observation.ReasonBadID, "schoolSourcedId %s cannot be a lookfor site id", observation.Clip(school))
			return
		}
		c.SiteID = school
		index[id] = len(p.out.Batch.Classrooms)
		p.out.Batch.Classrooms = append(p.out.Batch.Classrooms, c)
		p.out.classLines = append(p.out.classLines, r.line)
		p.out.teacherLines = append(p.out.teacherLines, 0)
	})
}

func matchesSubject(r row, subjects []string) bool {
	have := r.list("subjects")
	if len(have) == 0 {
		have = []string{r.get("title")}
	}
	for _, h := range have {
		h = strings.ToLower(h)
		for _, s := range subjects {
			if s = strings.ToLower(strings.TrimSpace(s)); s != "" && strings.Contains(h, s) {
				return true
			}
		}
	}
	return false
}

// gradeRank orders grade codes: PK, TK, K, 1 … 12.
func gradeRank(g string) int {
	switch g {
	case "PK":
		return -2
	case "TK":
		return -1
	case "K":
		return 0
	}
	n, _ := strconv.Atoi(g)
	return n
}

// teacherPick is the teacher chosen for a class so far.
type teacherPick struct {
	user    string
	primary bool
	line    int
}

func (p *oneRosterParser) enrollments(data string, classIndex map[string]int, filtered map[string]bool, adults map[string]adult) {
	t, iss := openCSV(enrollmentsCSV, data)
	if iss == nil {
		iss = t.require("classSourcedId", "userSourcedId", "role")
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	picks := map[int]teacherPick{}
	p.each(t, func(r row) {
		role, ok := p.roleName(r, "role")
		if !ok {
			return
		}
		if role == "student" {
			p.out.Skipped.StudentEnrollments++ // never read further
			return
		}
		deleted, ok := p.status(r)
		if !ok || deleted {
			return
		}
		if role != "teacher" {
			p.out.Skipped.OtherEnrollments++
			p.warn(r.t.file, r.line, "enrollments/role/"+role, fmt.Sprintf("enrollments with role %q are skipped: lookfor records a classroom's teacher only", role))
			return
		}
		class := r.get("classSourcedId")
		ci, known := classIndex[class]
		switch {
		case class == "":
			p.fail(r.t.file, r.line, observation.ReasonRequired, "classSourcedId is empty")
			return
		case filtered[class]:
			return
		case !known:
			p.fail(r.t.file, r.line, reasonUnknownRef, "class %s is not in classes.csv", observation.Clip(class))
			return
		}
		user := r.get("userSourcedId")
		if user == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "userSourcedId is empty")
			return
		}
		if a, ok := adults[user]; ok {
			var role StaffRole
			if a.index >= 0 {
				role = p.out.Batch.Staff[a.index].Role
			}
			switch {
			case role == StaffTeacher:
			case a.skipped == "student": // never echo a student's id
				p.out.Skipped.OtherEnrollments++
				p.warn(r.t.file, r.line, "enrollments/student-as-teacher", "a user who is a student in users.csv is enrolled as a teacher; the enrollment is skipped")
				return
			default:
				what := string(role)
				if a.index < 0 {
					what = a.skipped
				}
				p.out.Skipped.OtherEnrollments++
				p.warn(r.t.file, r.line, "enrollments/notteacher/"+user, fmt.Sprintf("user %q is enrolled as a teacher but is a %s in users.csv; the enrollment is skipped", user, what))
				return
			}
		} else if err := observation.ValidateID("userSourcedId", user); err != nil {
			p.fail(r.t.file, r.line, observation.ReasonBadID, "userSourcedId %s cannot be a lookfor staff id", observation.Clip(user))
			return
		}
		primary := strings.EqualFold(r.get("primary"), "true")
		prev, had := picks[ci]
		switch {
		case !had, primary && !prev.primary:
			picks[ci] = teacherPick{user: user, primary: primary, line: r.line}
		case prev.user != user && primary == prev.primary:
			p.warn(r.t.file, r.line, "enrollments/coteach/"+class, fmt.Sprintf("class %q has more than one %steacher; %q (line %d) is kept", class, map[bool]string{true: "primary ", false: ""}[primary], prev.user, prev.line))
		}
	})
	for ci, pick := range picks {
		p.out.Batch.Classrooms[ci].TeacherID = pick.user
		p.out.teacherLines[ci] = pick.line
	}
}

// finish adds the schools of the classes each teacher teaches to their site assignments and sets
// each imported site's grade band from its classes' grades.
func (p *oneRosterParser) finish(schools map[string]int) {
	staffIndex := map[string]int{}
	for i, s := range p.out.Batch.Staff {
		staffIndex[s.ID] = i
	}
	lo, hi := map[string]int{}, map[string]int{}
	for ci, c := range p.out.Batch.Classrooms {
		if i, ok := staffIndex[c.TeacherID]; ok && !slices.Contains(p.out.Batch.Staff[i].SiteIDs, c.SiteID) {
			p.out.Batch.Staff[i].SiteIDs = append(p.out.Batch.Staff[i].SiteIDs, c.SiteID)
			p.out.staffOrgs[i] = append(p.out.staffOrgs[i], orgRef{file: classesCSV, line: p.out.classLines[ci]})
		}
		for _, g := range strings.Split(c.Grade, ",") {
			if g == "" {
				continue
			}
			r := gradeRank(g)
			if l, ok := lo[c.SiteID]; !ok || r < l {
				lo[c.SiteID] = r
			}
			if h, ok := hi[c.SiteID]; !ok || r > h {
				hi[c.SiteID] = r
			}
		}
	}
	name := func(r int) string {
		switch r {
		case -2:
			return "PK"
		case -1:
			return "TK"
		case 0:
			return "K"
		}
		return strconv.Itoa(r)
	}
	for i, s := range p.out.Batch.Sites {
		if l, ok := lo[s.ID]; ok {
			band := name(l)
			if h := hi[s.ID]; h != l {
				band += "-" + name(h)
			}
			p.out.Batch.Sites[i].GradeBand = band
		}
	}
}
