package observation

import "time"

// The roster references the core reads: a district and its settings (school year, windows,
// privacy thresholds, student groups) drive periods, suppression and record validation; sites
// and classrooms scope the progress views and the records. How rosters are written, imported
// and listed is package roster's.

// District is one school district in the network, with its settings.
type District struct {
	ID        string
	Name      string
	Settings  DistrictSettings
	UpdatedAt time.Time // set when read from storage
}

// DistrictSettings are the knobs a district admin sets.
type DistrictSettings struct {
	SchoolYearStartMonth int            `json:"school_year_start_month"` // 1-12; 8 = August
	SuppressionThreshold int            `json:"suppression_threshold"`   // minimum n for student-group cells
	MinTeachersPerCell   int            `json:"min_teachers_per_cell"`   // minimum distinct teachers for site cells
	ProficiencyLevel     int            `json:"proficiency_level"`       // 0 = the rubric's own
	NetworkOptIn         bool           `json:"network_opt_in"`
	Windows              []NamedWindow  `json:"windows,omitempty"` // e.g. baseline, mid-year, end of year
	StudentGroups        []StudentGroup `json:"student_groups,omitempty"`
	Languages            []string       `json:"languages,omitempty"`
}

// NamedWindow is a district-defined observation window, by month and day within a school year.
type NamedWindow struct {
	Key        string `json:"key"`
	Title      string `json:"title"`
	StartMonth int    `json:"start_month"`
	StartDay   int    `json:"start_day"`
	EndMonth   int    `json:"end_month"`
	EndDay     int    `json:"end_day"`
}

// StudentGroup is a district-defined group used only for participation coding; never a student.
type StudentGroup struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Network minimums: no district may set thresholds below these.
const (
	NetworkMinSuppression = 11
	NetworkMinTeachers    = 3
)

// DefaultDistrictSettings returns the settings a new district starts with.
func DefaultDistrictSettings() DistrictSettings {
	return DistrictSettings{
		SchoolYearStartMonth: 8,
		SuppressionThreshold: NetworkMinSuppression,
		MinTeachersPerCell:   NetworkMinTeachers,
		Languages:            []string{"en", "es"},
	}
}

// ReasonUnknownSite: a referenced site is not a site of the district. Stable: clients may switch
// on it.
const ReasonUnknownSite = "UNKNOWN_SITE"

// Site is a school.
type Site struct {
	DistrictID string
	ID         string
	Name       string
	GradeBand  string    // e.g. "K-5", "6-8"
	CreatedAt  time.Time // set when read from storage
	UpdatedAt  time.Time // set when read from storage; unchanged by a write that changes nothing
}

// Classroom is one class section observed by coaches and principals.
type Classroom struct {
	DistrictID string
	ID         string
	SiteID     string
	Course     string
	Grade      string // "K", "1" … "8"
	Section    string
	TeacherID  string    // a staff id; a roster reference, never free text
	CreatedAt  time.Time // set when read from storage
	UpdatedAt  time.Time // set when read from storage; unchanged by a write that changes nothing
}
