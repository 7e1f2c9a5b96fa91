package roster

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// gradePattern accepts lookfor's grade codes, several joined by commas for combination classes.
var gradePattern = regexp.MustCompile(`^(PK|TK|K|[1-9]|1[0-2])(,(PK|TK|K|[1-9]|1[0-2]))*$`)

// Batch is a set of roster rows of one district written together.
type Batch struct {
	Sites      []observation.Site
	Classrooms []observation.Classroom
	Staff      []Staff
	// Ended are staff ids listed with status tobedeleted or inactive (OneRoster users.csv),
	// with that status: existing records get it and can no longer sign in; nothing is created.
	Ended map[string]string
}

// size is the number of rows in the batch.
func (b Batch) size() int { return len(b.Sites) + len(b.Classrooms) + len(b.Staff) }

// UpsertCounts says what an upsert did to the rows it was given.
type UpsertCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// Counts are the upsert counts of a roster write, per kind of row.
type Counts struct {
	Sites      UpsertCounts `json:"sites"`
	Classrooms UpsertCounts `json:"classrooms"`
	Staff      UpsertCounts `json:"staff"`
}

// Changed reports whether the write created or updated any row.
func (c Counts) Changed() bool {
	return c.Sites.Created+c.Sites.Updated+c.Classrooms.Created+c.Classrooms.Updated+c.Staff.Created+c.Staff.Updated > 0
}

// UpsertOutcome is what a single upsert did.
type UpsertOutcome string

const (
	OutcomeCreated   UpsertOutcome = "created"
	OutcomeUpdated   UpsertOutcome = "updated"
	OutcomeUnchanged UpsertOutcome = "unchanged"
)

func outcomeOf(c UpsertCounts) UpsertOutcome {
	switch {
	case c.Created > 0:
		return OutcomeCreated
	case c.Updated > 0:
		return OutcomeUpdated
	}
	return OutcomeUnchanged
}

// locator names where a row's field came from: its JSON path in the request (Field) and,
// for imported files, a "file:line: " prefix for the message.
type locator func(kind string, i int, field string) (path, prefix string)

func bulkLocator(kind string, i int, field string) (string, string) {
	return kind + "[" + strconv.Itoa(i) + "]." + field, ""
}

func singleLocator(name string) locator {
	return func(_ string, _ int, field string) (string, string) { return name + "." + field, "" }
}

func (loc locator) invalid(kind string, i int, field, reason, format string, args ...any) *observation.Error {
	path, prefix := loc(kind, i, field)
	return observation.Invalid(path, reason, "%s%s", prefix, fmt.Sprintf(format, args...))
}

// normalize fills the district id into every row and drops repeated site assignments.
func (b *Batch) normalize(d string) {
	for i := range b.Sites {
		b.Sites[i].DistrictID = d
	}
	for i := range b.Classrooms {
		b.Classrooms[i].DistrictID = d
	}
	for i := range b.Staff {
		s := &b.Staff[i]
		s.DistrictID = d
		var sites []string
		for _, id := range s.SiteIDs {
			if !slices.Contains(sites, id) {
				sites = append(sites, id)
			}
		}
		s.SiteIDs = sites
	}
}

// validate checks every row on its own and ids for repeats; references to other rows are
// checked against the stored roster by checkReferences.
func (b Batch) validate(loc locator) error {
	for _, k := range []struct {
		kind string
		n    int
	}{{"sites", len(b.Sites)}, {"classrooms", len(b.Classrooms)}, {"staff", len(b.Staff)}} {
		if kind, n := k.kind, k.n; n > maxBatch {
			path, _ := loc(kind, 0, "")
			return observation.Invalid(strings.TrimSuffix(strings.TrimSuffix(path, "."), "[0]"), observation.ReasonTooMany, "%d %s in one request; at most %d are allowed", n, kind, maxBatch)
		}
	}
	seen := map[string]int{}
	dup := func(kind string, i int, field, id string) error {
		if err := observation.ValidateID(field, id); err != nil {
			e := err.(*observation.Error)
			return loc.invalid(kind, i, field, e.Reason, "%s", e.Message)
		}
		if j, ok := seen[id]; ok {
			return loc.invalid(kind, i, field, reasonDuplicateID, "%s id %q is listed twice (also at index %d)", strings.TrimSuffix(kind, "s"), id, j)
		}
		seen[id] = i
		return nil
	}
	text := func(kind string, i int, field, s string, max int, required bool) error {
		if required && strings.TrimSpace(s) == "" {
			return loc.invalid(kind, i, field, observation.ReasonRequired, "a value is required")
		}
		if err := observation.CheckText(field, s, max); err != nil {
			return loc.invalid(kind, i, field, err.Reason, "%s", err.Message)
		}
		return nil
	}
	for i, s := range b.Sites {
		if err := dup("sites", i, "site_id", s.ID); err != nil {
			return err
		}
		if err := text("sites", i, "name", s.Name, maxNameLength, true); err != nil {
			return err
		}
		if err := text("sites", i, "grade_band", s.GradeBand, maxLabelLength, false); err != nil {
			return err
		}
	}
	clear(seen)
	for i, c := range b.Classrooms {
		if err := dup("classrooms", i, "classroom_id", c.ID); err != nil {
			return err
		}
		if err := observation.ValidateID("site_id", c.SiteID); err != nil {
			e := err.(*observation.Error)
			return loc.invalid("classrooms", i, "site_id", e.Reason, "%s", e.Message)
		}
		if err := text("classrooms", i, "course", c.Course, maxNameLength, true); err != nil {
			return err
		}
		if c.Grade != "" && !gradePattern.MatchString(c.Grade) {
			return loc.invalid("classrooms", i, "grade", reasonBadGrade, "grade %s must be PK, TK, K or 1 to 12 (several joined by commas for a combination class)", observation.Clip(c.Grade))
		}
		if err := text("classrooms", i, "section", c.Section, maxLabelLength, false); err != nil {
			return err
		}
		if c.TeacherID != "" {
			if err := observation.ValidateID("teacher_id", c.TeacherID); err != nil {
				e := err.(*observation.Error)
				return loc.invalid("classrooms", i, "teacher_id", e.Reason, "%s", e.Message)
			}
		}
	}
	clear(seen)
	for i, s := range b.Staff {
		if err := dup("staff", i, "staff_id", s.ID); err != nil {
			return err
		}
		if err := text("staff", i, "given_name", s.GivenName, maxNameLength, false); err != nil {
			return err
		}
		if err := text("staff", i, "family_name", s.FamilyName, maxNameLength, false); err != nil {
			return err
		}
		if err := checkEmail(s.Email); err != nil {
			return loc.invalid("staff", i, "email", err.Reason, "%s", err.Message)
		}
		if s.Role == "" {
			return loc.invalid("staff", i, "role", observation.ReasonRequired, "a role is required (one of %v)", staffRoles)
		}
		if !s.Role.valid() {
			return loc.invalid("staff", i, "role", reasonBadStaffRole, "role %s is not one of %v", observation.Clip(string(s.Role)), staffRoles)
		}
		if len(s.SiteIDs) > maxStaffSites {
			return loc.invalid("staff", i, "site_ids", observation.ReasonTooMany, "%d site assignments; at most %d are allowed", len(s.SiteIDs), maxStaffSites)
		}
		for j, site := range s.SiteIDs {
			if err := observation.ValidateID("site_ids", site); err != nil {
				e := err.(*observation.Error)
				return loc.invalid("staff", i, "site_ids["+strconv.Itoa(j)+"]", e.Reason, "%s", e.Message)
			}
		}
	}
	return nil
}

func checkEmail(s string) *observation.Error {
	if s == "" {
		return nil
	}
	if err := observation.CheckText("email", s, maxEmailLength); err != nil {
		return err
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " \t\r\n<>,;") || strings.Contains(domain, "@") {
		return observation.Invalid("email", reasonBadEmail, "%s is not an email address", observation.Clip(s))
	}
	return nil
}

// checkReferences checks, against the batch and the stored roster, that every classroom's site
// and every staff site assignment is a site of the district, and that every classroom's teacher
// is on the district's staff as a teacher.
func (b Batch) checkReferences(ctx context.Context, l Lookup, loc locator) error {
	batchSites := make(map[string]bool, len(b.Sites))
	for _, s := range b.Sites {
		batchSites[s.ID] = true
	}
	batchRoles := make(map[string]StaffRole, len(b.Staff))
	for _, s := range b.Staff {
		batchRoles[s.ID] = s.Role
	}
	var siteRefs, teacherRefs []string
	for _, c := range b.Classrooms {
		if !batchSites[c.SiteID] {
			siteRefs = append(siteRefs, c.SiteID)
		}
		if _, ok := batchRoles[c.TeacherID]; c.TeacherID != "" && !ok {
			teacherRefs = append(teacherRefs, c.TeacherID)
		}
	}
	for _, s := range b.Staff {
		for _, site := range s.SiteIDs {
			if !batchSites[site] {
				siteRefs = append(siteRefs, site)
			}
		}
	}
	stored, storedRoles := map[string]bool{}, map[string]StaffRole{}
	var err error
	if len(siteRefs) > 0 {
		if stored, err = l.SitesExist(ctx, dedupe(siteRefs)); err != nil {
			return err
		}
	}
	if len(teacherRefs) > 0 {
		if storedRoles, err = l.StaffRoles(ctx, dedupe(teacherRefs)); err != nil {
			return err
		}
	}
	for i, s := range b.Staff {
		for j, site := range s.SiteIDs {
			if !batchSites[site] && !stored[site] {
				return loc.invalid("staff", i, "site_ids["+strconv.Itoa(j)+"]", observation.ReasonUnknownSite, "site %q is not a site of district %q", site, s.DistrictID)
			}
		}
	}
	for i, c := range b.Classrooms {
		if !batchSites[c.SiteID] && !stored[c.SiteID] {
			return loc.invalid("classrooms", i, "site_id", observation.ReasonUnknownSite, "site %q is not a site of district %q", c.SiteID, c.DistrictID)
		}
		if c.TeacherID == "" {
			continue
		}
		role, ok := batchRoles[c.TeacherID]
		if !ok {
			role, ok = storedRoles[c.TeacherID]
		}
		switch {
		case !ok:
			return loc.invalid("classrooms", i, "teacher_id", reasonUnknownTeacher, "teacher %q is not on the staff of district %q", c.TeacherID, c.DistrictID)
		case role != StaffTeacher:
			return loc.invalid("classrooms", i, "teacher_id", ReasonNotATeacher, "staff member %q is a %s, not a teacher", c.TeacherID, role)
		}
	}
	return nil
}

func dedupe(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}
