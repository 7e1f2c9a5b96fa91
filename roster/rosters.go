package roster

import (
	"context"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Roster limits.
const (
	maxBatch        = 20000 // rows of each kind (sites, classrooms, staff) in one bulk write or import
	maxStaffSites   = 100   // site assignments of one staff member
	DefaultPageSize = 200
	maxPageSize     = 1000
	maxNameLength   = 200 // characters of a site name, course, given or family name
	maxLabelLength  = 64  // characters of a grade band or section
	maxEmailLength  = 254
)

// Reason codes of roster validation and settings updates (those of the settings' own values are
// observation's). They are stable: clients may switch on them.
const (
	reasonDuplicateID    = "DUPLICATE_ID"    // an id appears twice in one request or file
	reasonUnknownTeacher = "UNKNOWN_TEACHER" // a referenced teacher is not on the district's staff
	ReasonNotATeacher    = "NOT_A_TEACHER"   // a classroom's teacher is on the staff, but not as a teacher
	reasonBadStaffRole   = "BAD_STAFF_ROLE"  // not one of staffRoles
	reasonBadGrade       = "BAD_GRADE"       // a grade is not PK, TK, K or 1-12 (comma-separated)
	reasonBadEmail       = "BAD_EMAIL"       // an email address is malformed
	reasonBadUpdateMask  = "BAD_UPDATE_MASK" // an update mask names an unknown field
	reasonBadPageToken   = "BAD_PAGE_TOKEN"  // a page token this service did not issue
)

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
	// RosterDistrict returns a district with its settings; observation.KindNotFound when it does
	// not exist.
	RosterDistrict(ctx context.Context, id string) (observation.District, error)
	ListRosterSites(ctx context.Context, q Query) ([]observation.Site, error)
	ListRosterClassrooms(ctx context.Context, q Query) ([]observation.Classroom, error)
	ListRosterStaff(ctx context.Context, q Query) ([]Staff, error)
	// ApplyRoster locks the district (observation.KindNotFound when it does not exist), runs
	// w.Check, upserts the batch with one statement per table and writes the audit entry, all in
	// one transaction. A row whose values equal the stored ones is left untouched (updated_at
	// included).
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

// district checks access and that the district exists.
func (r *Service) district(ctx context.Context, p observation.Principal, d string, write bool) (observation.District, error) {
	if err := access(p, d, write); err != nil {
		return observation.District{}, err
	}
	return r.Store.RosterDistrict(ctx, d)
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
	if b.size() == 0 {
		return Counts{}, observation.Invalid("sites", observation.ReasonRequired, "the request has no sites, classrooms or staff")
	}
	return r.write(ctx, p, d, b, bulkLocator, "roster.bulk_upsert", "roster", d, nil, false)
}
