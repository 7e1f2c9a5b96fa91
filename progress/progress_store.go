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
}

// GoalMeasure is what a district goal measures for its dimension.
type GoalMeasure string

const (
	GoalMeanLevel       GoalMeasure = "mean_level"       // the dimension's mean level reaches Target
	GoalShareProficient GoalMeasure = "share_proficient" // the share (0..1) at or above the proficiency level reaches Target
)

// Goal is a district's target for one rubric dimension by a date, for the district or one site.
type Goal struct {
	DistrictID string
	ID         string // UUID, assigned by the server
	SiteID     string // "" for the whole district
	Title      string
	RubricID   string
	Dimension  string
	Measure    GoalMeasure
	Target     float64
	TargetDate time.Time // UTC midnight
	// Baseline is the period progress is measured from (kind and key); zero: the school year
	// before the target date's.
	BaselineKind PeriodKind
	BaselineKey  string
	// PeriodKind is the kind of period the current value is read for (the period containing the
	// earlier of today and the target date); "" means school_year.
	PeriodKind PeriodKind
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
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
	// ProgressCells returns the cell rows matching q (rows whose counters are all 0 may be left out).
	ProgressCells(ctx context.Context, q CellQuery) ([]CellRow, error)
	// ProgressPairs returns the pair rows matching q.
	ProgressPairs(ctx context.Context, q CellQuery) ([]PairRow, error)
	// LastVisits returns, for each classroom with an observation before the instant, the UTC
	// date of its latest one.
	LastVisits(ctx context.Context, districtID string, classroomIDs []string, before time.Time) (map[string]time.Time, error)
	// RubricSeriesVersions returns the published and retired versions of a rubric, ascending by
	// version (KindNotFound when it has none).
	RubricSeriesVersions(ctx context.Context, rubricID string) ([]observation.RubricVersion, error)
	// Goals returns a district's goals, oldest first.
	Goals(ctx context.Context, districtID string) ([]Goal, error)
	// Goal returns one goal (KindNotFound when unknown).
	Goal(ctx context.Context, districtID, goalID string) (Goal, error)
	// SaveGoal creates the goal, or replaces the stored goal with the same id when update is
	// true (KindNotFound when it does not exist), auditing in the same transaction.
	SaveGoal(ctx context.Context, g Goal, update bool, audit observation.AuditEntry) (Goal, error)
	// Audit records a read.
	Audit(ctx context.Context, e observation.AuditEntry) error
}
