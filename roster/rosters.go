package roster

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Roster limits.
const (
	MaxBatch        = 20000 // rows of each kind (sites, classrooms, staff) in one bulk write or import
	MaxStaffSites   = 100   // site assignments of one staff member
	DefaultPageSize = 200
	MaxPageSize     = 1000
	MaxNameLength   = 200 // characters of a site name, course, given or family name
	MaxLabelLength  = 64  // characters of a grade band or section
	MaxEmailLength  = 254
)

// Reason codes of roster and district-settings validation. They are stable: clients may switch
// on them.
const (
	ReasonDuplicateID    = "DUPLICATE_ID"    // an id appears twice in one request or file
	ReasonUnknownTeacher = "UNKNOWN_TEACHER" // a referenced teacher is not on the district's staff
	ReasonNotATeacher    = "NOT_A_TEACHER"   // a classroom's teacher is on the staff, but not as a teacher
	ReasonBadStaffRole   = "BAD_STAFF_ROLE"  // not one of StaffRoles
	ReasonBadGrade       = "BAD_GRADE"       // a grade is not PK, TK, K or 1-12 (comma-separated)
	ReasonBadEmail       = "BAD_EMAIL"       // an email address is malformed
	ReasonBadUpdateMask  = "BAD_UPDATE_MASK" // an update mask names an unknown field
	ReasonBadPageToken   = "BAD_PAGE_TOKEN"  // a page token this service did not issue
)

// StaffRoles lists every roster role, in a stable order.
var StaffRoles = []StaffRole{StaffTeacher, StaffCoach, StaffPrincipal, StaffDistrictAdmin}

// Valid reports whether r is a known roster role.
func (r StaffRole) Valid() bool { return slices.Contains(StaffRoles, r) }

// gradePattern accepts lookfor's grade codes, several joined by commas for combination classes.
var gradePattern = regexp.MustCompile(`^(PK|TK|K|[1-9]|1[0-2])(,(PK|TK|K|[1-9]|1[0-2]))*$`)

// Batch is a set of roster rows of one district written together.
type Batch struct {
	Sites      []observation.Site
	Classrooms []observation.Classroom
	Staff      []Staff
}

// Len is the number of rows in the batch.
func (b Batch) Len() int { return len(b.Sites) + len(b.Classrooms) + len(b.Staff) }

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

// Lookup reads the stored roster inside a roster write's transaction.
type Lookup interface {
	// SitesExist reports which of ids are sites of the district being written.
	SitesExist(ctx context.Context, ids []string) (map[string]bool, error)
	// StaffRoles returns the roster role of each of ids that is on the district's staff.
	StaffRoles(ctx context.Context, ids []string) (map[string]StaffRole, error)
}

// Write is one transactional roster write.
type Write struct {
	DistrictID string
	Batch      Batch
	// Check runs inside the transaction, after the district is locked and before anything is
	// written; an error rolls everything back.
	Check func(ctx context.Context, l Lookup) error
	// Audit is written in the same transaction when anything changed, with the counts and the
	// ids of created and updated rows added to its details.
	Audit  observation.AuditEntry
	DryRun bool // check and count, then roll back
}

// Query selects roster rows of one district, in id order.
type Query struct {
	DistrictID string
	Scoped     bool     // when true, only rows at SiteIDs (sites: only those sites)
	SiteIDs    []string // the scope when Scoped
	SiteID     string   // only rows at this site ("" for all)
	IDs        []string // only these ids (nil for all)
	Role       StaffRole
	After      string // keyset paging: ids after this one
	Limit      int
}

// Store is what the roster and district-settings use-cases need from storage.
type Store interface {
	// RosterDistrict returns a district with its settings; KindNotFound when it does not exist.
	RosterDistrict(ctx context.Context, id string) (observation.District, error)
	ListRosterSites(ctx context.Context, q Query) ([]observation.Site, error)
	ListRosterClassrooms(ctx context.Context, q Query) ([]observation.Classroom, error)
	ListRosterStaff(ctx context.Context, q Query) ([]Staff, error)
	// ApplyRoster locks the district (KindNotFound when it does not exist), runs w.Check, upserts
	// the batch with one statement per table and writes the audit entry, all in one transaction.
	// A row whose values equal the stored ones is left untouched (updated_at included).
	ApplyRoster(ctx context.Context, w Write) (Counts, error)
	// UpdateDistrict locks a district, lets fn change it, and, when fn returns an audit entry,
	// stores the district and the entry in the same transaction.
	UpdateDistrict(ctx context.Context, id string, fn func(*observation.District) (*observation.AuditEntry, error)) (observation.District, error)
	// Audit records a read of teacher-level roster data.
	Audit(ctx context.Context, e observation.AuditEntry) error
}

// Service holds the roster and district-settings use-cases: district admins (and admins) write
// their district's sites, classrooms, staff, student groups and settings; coaches and principals
// read the sites and classrooms of their own sites.
type Service struct {
	Store Store
	Now   func() time.Time
}

func (r *Service) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// access decides whether p may read (write=false) or change (write=true) district d's
// roster and settings. Callers outside the district learn nothing about whether it exists.
func access(p observation.Principal, d string, write bool) error {
	if err := observation.ValidateDistrictID("district_id", d); err != nil {
		return err
	}
	if p.Role == observation.RoleNetworkAnalyst {
		return observation.Denied("network analysts see suppressed cross-district aggregates only, not district rosters")
	}
	if !p.InDistrict(d) {
		return observation.NotFound("district", d)
	}
	switch p.Role {
	case observation.RoleAdmin, observation.RoleDistrictAdmin:
		return nil
	case observation.RoleCoach, observation.RolePrincipal:
		if write {
			return observation.Denied("role %s may not change district %q's roster or settings", p.Role, d)
		}
		return nil
	}
	return observation.Denied("role %s may not read rosters", p.Role)
}

// siteScoped reports whether p reads only the sites assigned to them.
func siteScoped(p observation.Principal) bool {
	return p.Role == observation.RoleCoach || p.Role == observation.RolePrincipal
}

// Page asks for one page of a list.
type Page struct {
	Size  int    // 0: DefaultPageSize
	After string // the last id of the previous page ("" for the first)
}

// PageToken is the opaque token of the page after id.
func PageToken(lastID string) string {
	if lastID == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("r1:" + lastID))
}

// PageAfter decodes a token made by PageToken.
func PageAfter(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(b), "r1:") {
		return "", observation.Invalid("page_token", ReasonBadPageToken, "the page token was not issued by this service")
	}
	return strings.TrimPrefix(string(b), "r1:"), nil
}

func (pg Page) limit() (int, error) {
	switch {
	case pg.Size == 0:
		return DefaultPageSize, nil
	case pg.Size < 0 || pg.Size > MaxPageSize:
		return 0, observation.Invalid("page_size", observation.ReasonOutOfRange, "page size must be 1 to %d, got %d", MaxPageSize, pg.Size)
	}
	return pg.Size, nil
}

// page runs a keyset-paged list: it asks for one row more than the page and returns the token of
// the next page when there is one.
func page[T any](ctx context.Context, pg Page, q Query, list func(context.Context, Query) ([]T, error), id func(T) string) ([]T, string, error) {
	n, err := pg.limit()
	if err != nil {
		return nil, "", err
	}
	q.After, q.Limit = pg.After, n+1
	rows, err := list(ctx, q)
	if err != nil {
		return nil, "", err
	}
	if len(rows) <= n {
		return rows, "", nil
	}
	rows = rows[:n]
	return rows, PageToken(id(rows[n-1])), nil
}

// district checks access and that the district exists.
func (r *Service) district(ctx context.Context, p observation.Principal, d string, write bool) (observation.District, error) {
	if err := access(p, d, write); err != nil {
		return observation.District{}, err
	}
	return r.Store.RosterDistrict(ctx, d)
}

// scopedQuery is the query for p's view of district d, narrowed to siteID when set. A coach or
// principal naming a site outside their scope gets not found.
func scopedQuery(p observation.Principal, d, siteID string) (Query, error) {
	q := Query{DistrictID: d, SiteID: siteID}
	if siteID != "" {
		if err := observation.ValidateID("site_id", siteID); err != nil {
			return q, err
		}
		if !p.CanSeeSite(d, siteID) {
			return q, observation.NotFound("site", siteID)
		}
	}
	if siteScoped(p) {
		q.Scoped, q.SiteIDs = true, append([]string{}, p.SiteIDs...)
	}
	return q, nil
}

// ListSites returns one page of the district's sites p may see.
func (r *Service) ListSites(ctx context.Context, p observation.Principal, d string, pg Page) ([]observation.Site, string, error) {
	if _, err := r.district(ctx, p, d, false); err != nil {
		return nil, "", err
	}
	q, _ := scopedQuery(p, d, "")
	return page(ctx, pg, q, r.Store.ListRosterSites, func(s observation.Site) string { return s.ID })
}

// GetSite returns one site p may see.
func (r *Service) GetSite(ctx context.Context, p observation.Principal, d, siteID string) (observation.Site, error) {
	if err := observation.ValidateID("site_id", siteID); err != nil {
		return observation.Site{}, err
	}
	if _, err := r.district(ctx, p, d, false); err != nil {
		return observation.Site{}, err
	}
	q, err := scopedQuery(p, d, siteID)
	if err != nil {
		return observation.Site{}, err
	}
	q.IDs, q.Limit = []string{siteID}, 1
	ss, err := r.Store.ListRosterSites(ctx, q)
	if err != nil {
		return observation.Site{}, err
	}
	if len(ss) == 0 {
		return observation.Site{}, observation.NotFound("site", siteID)
	}
	return ss[0], nil
}

// ListClassrooms returns one page of the classrooms p may see, at siteID when set.
func (r *Service) ListClassrooms(ctx context.Context, p observation.Principal, d, siteID string, pg Page) ([]observation.Classroom, string, error) {
	if _, err := r.district(ctx, p, d, false); err != nil {
		return nil, "", err
	}
	q, err := scopedQuery(p, d, siteID)
	if err != nil {
		return nil, "", err
	}
	out, next, err := page(ctx, pg, q, r.Store.ListRosterClassrooms, func(c observation.Classroom) string { return c.ID })
	if err != nil {
		return nil, "", err
	}
	return out, next, r.auditRead(ctx, p, d, "roster.list_classrooms", "classroom", siteID, len(out))
}

// auditRead records a read of teacher-level data (which teacher teaches which classroom).
func (r *Service) auditRead(ctx context.Context, p observation.Principal, d, action, resourceType, siteID string, n int) error {
	a := observation.Audit(p, d, action, resourceType, siteID, r.now())
	a.Details["site_id"], a.Details["count"] = siteID, n
	return r.Store.Audit(ctx, a)
}

// ListStaff returns one page of the staff p may see (coaches and principals: staff assigned to
// their sites), at siteID and with role when set.
func (r *Service) ListStaff(ctx context.Context, p observation.Principal, d, siteID string, role StaffRole, pg Page) ([]Staff, string, error) {
	if role != "" && !role.Valid() {
		return nil, "", observation.Invalid("role", ReasonBadStaffRole, "role %s is not one of %v", observation.Clip(string(role)), StaffRoles)
	}
	if _, err := r.district(ctx, p, d, false); err != nil {
		return nil, "", err
	}
	q, err := scopedQuery(p, d, siteID)
	if err != nil {
		return nil, "", err
	}
	q.Role = role
	out, next, err := page(ctx, pg, q, r.Store.ListRosterStaff, func(s Staff) string { return s.ID })
	if err != nil {
		return nil, "", err
	}
	return out, next, r.auditRead(ctx, p, d, "roster.list_staff", "staff", siteID, len(out))
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
		if kind, n := k.kind, k.n; n > MaxBatch {
			path, _ := loc(kind, 0, "")
			return observation.Invalid(strings.TrimSuffix(strings.TrimSuffix(path, "."), "[0]"), observation.ReasonTooMany, "%d %s in one request; at most %d are allowed", n, kind, MaxBatch)
		}
	}
	seen := map[string]int{}
	dup := func(kind string, i int, field, id string) error {
		if err := observation.ValidateID(field, id); err != nil {
			e := err.(*observation.Error)
			return loc.invalid(kind, i, field, e.Reason, "%s", e.Message)
		}
		if j, ok := seen[id]; ok {
			return loc.invalid(kind, i, field, ReasonDuplicateID, "%s id %q is listed twice (also at index %d)", strings.TrimSuffix(kind, "s"), id, j)
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
		if err := text("sites", i, "name", s.Name, MaxNameLength, true); err != nil {
			return err
		}
		if err := text("sites", i, "grade_band", s.GradeBand, MaxLabelLength, false); err != nil {
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
		if err := text("classrooms", i, "course", c.Course, MaxNameLength, true); err != nil {
			return err
		}
		if c.Grade != "" && !gradePattern.MatchString(c.Grade) {
			return loc.invalid("classrooms", i, "grade", ReasonBadGrade, "grade %s must be PK, TK, K or 1 to 12 (several joined by commas for a combination class)", observation.Clip(c.Grade))
		}
		if err := text("classrooms", i, "section", c.Section, MaxLabelLength, false); err != nil {
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
		if err := text("staff", i, "given_name", s.GivenName, MaxNameLength, false); err != nil {
			return err
		}
		if err := text("staff", i, "family_name", s.FamilyName, MaxNameLength, false); err != nil {
			return err
		}
		if err := checkEmail(s.Email); err != nil {
			return loc.invalid("staff", i, "email", err.Reason, "%s", err.Message)
		}
		if s.Role == "" {
			return loc.invalid("staff", i, "role", observation.ReasonRequired, "a role is required (one of %v)", StaffRoles)
		}
		if !s.Role.Valid() {
			return loc.invalid("staff", i, "role", ReasonBadStaffRole, "role %s is not one of %v", observation.Clip(string(s.Role)), StaffRoles)
		}
		if len(s.SiteIDs) > MaxStaffSites {
			return loc.invalid("staff", i, "site_ids", observation.ReasonTooMany, "%d site assignments; at most %d are allowed", len(s.SiteIDs), MaxStaffSites)
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
	if err := observation.CheckText("email", s, MaxEmailLength); err != nil {
		return err
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " \t\r\n<>,;") || strings.Contains(domain, "@") {
		return observation.Invalid("email", ReasonBadEmail, "%s is not an email address", observation.Clip(s))
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
			return loc.invalid("classrooms", i, "teacher_id", ReasonUnknownTeacher, "teacher %q is not on the staff of district %q", c.TeacherID, c.DistrictID)
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

// write validates and applies a batch for p, auditing it as action on resource.
func (r *Service) write(ctx context.Context, p observation.Principal, d string, b Batch, loc locator, action, resourceType, resourceID string, details map[string]any, dryRun bool) (Counts, error) {
	if err := access(p, d, true); err != nil {
		return Counts{}, err
	}
	b.normalize(d)
	if err := b.validate(loc); err != nil {
		return Counts{}, err
	}
	audit := observation.Audit(p, d, action, resourceType, resourceID, r.now())
	for k, v := range details {
		audit.Details[k] = v
	}
	return r.Store.ApplyRoster(ctx, Write{
		DistrictID: d, Batch: b, Audit: audit, DryRun: dryRun,
		Check: func(ctx context.Context, l Lookup) error { return b.checkReferences(ctx, l, loc) },
	})
}

// UpsertSite creates or updates one site.
func (r *Service) UpsertSite(ctx context.Context, p observation.Principal, d string, s observation.Site) (observation.Site, UpsertOutcome, error) {
	c, err := r.write(ctx, p, d, Batch{Sites: []observation.Site{s}}, singleLocator("site"), "roster.upsert_site", "site", s.ID, nil, false)
	if err != nil {
		return observation.Site{}, "", err
	}
	ss, err := r.Store.ListRosterSites(ctx, Query{DistrictID: d, IDs: []string{s.ID}, Limit: 1})
	if err != nil || len(ss) == 0 {
		return observation.Site{}, "", orNotFound(err, "site", s.ID)
	}
	return ss[0], outcomeOf(c.Sites), nil
}

// UpsertClassroom creates or updates one classroom.
func (r *Service) UpsertClassroom(ctx context.Context, p observation.Principal, d string, cl observation.Classroom) (observation.Classroom, UpsertOutcome, error) {
	c, err := r.write(ctx, p, d, Batch{Classrooms: []observation.Classroom{cl}}, singleLocator("classroom"), "roster.upsert_classroom", "classroom", cl.ID, nil, false)
	if err != nil {
		return observation.Classroom{}, "", err
	}
	cs, err := r.Store.ListRosterClassrooms(ctx, Query{DistrictID: d, IDs: []string{cl.ID}, Limit: 1})
	if err != nil || len(cs) == 0 {
		return observation.Classroom{}, "", orNotFound(err, "classroom", cl.ID)
	}
	return cs[0], outcomeOf(c.Classrooms), nil
}

// UpsertStaff creates or updates one staff member; their site assignments become the ones given.
func (r *Service) UpsertStaff(ctx context.Context, p observation.Principal, d string, s Staff) (Staff, UpsertOutcome, error) {
	c, err := r.write(ctx, p, d, Batch{Staff: []Staff{s}}, singleLocator("staff"), "roster.upsert_staff", "staff", s.ID, nil, false)
	if err != nil {
		return Staff{}, "", err
	}
	ss, err := r.Store.ListRosterStaff(ctx, Query{DistrictID: d, IDs: []string{s.ID}, Limit: 1})
	if err != nil || len(ss) == 0 {
		return Staff{}, "", orNotFound(err, "staff member", s.ID)
	}
	return ss[0], outcomeOf(c.Staff), nil
}

func orNotFound(err error, what, id string) error {
	if err != nil {
		return err
	}
	return observation.NotFound(what, id)
}

// BulkUpsert writes sites, classrooms and staff in one transaction: all of them or, when any row
// is invalid, none.
func (r *Service) BulkUpsert(ctx context.Context, p observation.Principal, d string, b Batch) (Counts, error) {
	if b.Len() == 0 {
		return Counts{}, observation.Invalid("sites", observation.ReasonRequired, "the request has no sites, classrooms or staff")
	}
	return r.write(ctx, p, d, b, bulkLocator, "roster.bulk_upsert", "roster", d, nil, false)
}

// Settings returns a district's settings.
func (r *Service) Settings(ctx context.Context, p observation.Principal, d string) (observation.District, error) {
	return r.district(ctx, p, d, false)
}

// StudentGroups returns the district's student-group definitions.
func (r *Service) StudentGroups(ctx context.Context, p observation.Principal, d string) ([]observation.StudentGroup, error) {
	dist, err := r.district(ctx, p, d, false)
	if err != nil {
		return nil, err
	}
	return dist.Settings.StudentGroups, nil
}

// UpdateSettings changes the fields of a district's settings named by paths (SettingsFields;
// none or "*": every field) to their values in in. An update that changes nothing writes nothing.
func (r *Service) UpdateSettings(ctx context.Context, p observation.Principal, d string, in observation.DistrictSettings, paths []string) (observation.District, bool, error) {
	if err := access(p, d, true); err != nil {
		return observation.District{}, false, err
	}
	fields, err := settingsMask(paths)
	if err != nil {
		return observation.District{}, false, err
	}
	changed := false
	dist, err := r.Store.UpdateDistrict(ctx, d, func(cur *observation.District) (*observation.AuditEntry, error) {
		next := MergeSettings(cur.Settings, in, fields)
		if err := observation.ValidateDistrictSettings(next); err != nil {
			return nil, err
		}
		diff := SettingsDiff(cur.Settings, next)
		if len(diff) == 0 {
			return nil, nil
		}
		changed = true
		a := observation.Audit(p, d, "district.update_settings", "district_settings", d, r.now())
		a.Details["changed"] = diff
		a.Details["before"] = cur.Settings
		a.Details["after"] = next
		cur.Settings = next
		return &a, nil
	})
	return dist, changed, err
}

// UpsertStudentGroup adds a student group to the district's definitions, or relabels the group
// with the same key.
func (r *Service) UpsertStudentGroup(ctx context.Context, p observation.Principal, d string, g observation.StudentGroup) (observation.StudentGroup, UpsertOutcome, error) {
	if err := access(p, d, true); err != nil {
		return observation.StudentGroup{}, "", err
	}
	if err := observation.ValidateStudentGroup("student_group", g); err != nil {
		return observation.StudentGroup{}, "", err
	}
	outcome := OutcomeUnchanged
	_, err := r.Store.UpdateDistrict(ctx, d, func(cur *observation.District) (*observation.AuditEntry, error) {
		next := cloneSettings(cur.Settings)
		i := slices.IndexFunc(next.StudentGroups, func(x observation.StudentGroup) bool { return x.Key == g.Key })
		switch {
		case i < 0:
			if len(next.StudentGroups) >= observation.MaxStudentGroups {
				return nil, observation.Invalid("student_group.key", observation.ReasonTooMany, "the district has %d student groups already; at most %d are allowed", len(next.StudentGroups), observation.MaxStudentGroups)
			}
			next.StudentGroups = append(next.StudentGroups, g)
			outcome = OutcomeCreated
		case next.StudentGroups[i] != g:
			next.StudentGroups[i] = g
			outcome = OutcomeUpdated
		default:
			return nil, nil
		}
		a := observation.Audit(p, d, "district.upsert_student_group", "student_group", g.Key, r.now())
		a.Details["changed"] = []string{"student_groups"}
		a.Details["before"] = cur.Settings
		a.Details["after"] = next
		cur.Settings = next
		return &a, nil
	})
	if err != nil {
		return observation.StudentGroup{}, "", err
	}
	return g, outcome, nil
}
