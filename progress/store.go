package progress

import (
	"context"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// CellQuery selects aggregate rows (cells or pairs) for a progress view.
type CellQuery struct {
	DistrictIDs []string // at least one
	RubricID    string
	Kind        PeriodKind
	Keys        []string // period keys; at least one
	Sites       []string // nil: every site of the districts
	// BySite asks for site rows (see SiteRow) instead of cells: one row per site and period.
	BySite bool
}

// CellVersion names one version of a stored aggregate row.
type CellVersion struct {
	CellKey
	Rev int64
}

// DistrictVersion is the version of a district's aggregate rows of a rubric: every write of those
// stored rows raises it, in the write's transaction (Store.ProgressDistrictRows).
type DistrictVersion struct {
	DistrictID string
	Version    int64
	// Unchanged: the district was named at this version and nothing is logged for the rows read,
	// so its rows were left out (they are the rows the caller read at this version).
	Unchanged bool
}

// Store is what the progress views need from storage. Aggregate rows are maintained by
// the store in the transaction of every observation write (see Delta); this interface
// only reads them.
type Store interface {
	// ProgressDistrict returns a district and its settings (KindNotFound when unknown).
	ProgressDistrict(ctx context.Context, districtID string) (observation.District, error)
	// OptedInDistricts returns the districts whose settings opt in to network measures, by id.
	OptedInDistricts(ctx context.Context) ([]observation.District, error)
	// ProgressSites returns the sites of a district, by id.
	ProgressSites(ctx context.Context, districtID string) ([]observation.Site, error)
	// ProgressClassrooms returns the rostered classrooms of a district's sites (nil: every site),
	// by site then id.
	ProgressClassrooms(ctx context.Context, districtID string, sites []string) ([]observation.Classroom, error)
	// StaffedSites returns the sites of a district (of sites; nil: every site) that have at least
	// one rostered classroom with a teacher, by id.
	StaffedSites(ctx context.Context, districtID string, sites []string) ([]string, error)
	// ProgressCells returns the cell rows matching q, or its site rows when q.BySite (rows whose
	// counters are all 0 may be left out), each with its version.
	ProgressCells(ctx context.Context, q CellQuery) ([]CellRow, error)
	// ProgressDistrictRows returns the site rows matching q and, read in the same
	// snapshot, the version of each district of q (its rows of q's rubric). A district that held names at its current
	// version, with no logged delta for the rows of q, comes back Unchanged and none of its rows
	// are returned; the rows of another district held names come without counters (M nil)
	// unless a logged delta adds to them.
	ProgressDistrictRows(ctx context.Context, q CellQuery, held []DistrictVersion) ([]CellRow, []DistrictVersion, error)
	// ProgressPairs returns the pair rows matching q.
	ProgressPairs(ctx context.Context, q CellQuery) ([]PairRow, error)
	// LastVisits returns, for each classroom with a counted observation on the rubric before the
	// instant, the UTC date of its latest one.
	LastVisits(ctx context.Context, districtID, rubricID string, classroomIDs []string, before time.Time) (map[string]time.Time, error)
	// RubricSeriesVersions returns the published and retired versions of a rubric, ascending by
	// version (KindNotFound when it has none).
	RubricSeriesVersions(ctx context.Context, rubricID string) ([]observation.RubricVersion, error)
	// Goals returns a district's goals, oldest first.
	Goals(ctx context.Context, districtID string) ([]Goal, error)
	// Goal returns one goal (KindNotFound when unknown).
	Goal(ctx context.Context, districtID, goalID string) (Goal, error)
	// SaveGoal creates the goal, or replaces the stored goal with the same id when update is
	// true (KindNotFound when it does not exist), auditing in the same transaction. Writes of one
	// district's goals are serialized; a create of a goal that is the same as a stored one (see
	// Goal) with the same title returns the stored goal and writes nothing, anything else that
	// would make two goals the same fails with KindAlreadyExists (ReasonGoalExists).
	SaveGoal(ctx context.Context, g Goal, update bool, audit observation.AuditEntry) (Goal, error)
	// Audit records a read.
	Audit(ctx context.Context, e observation.AuditEntry) error
}
