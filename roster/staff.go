package roster

import (
	"slices"
	"time"
)

// Staff is an adult on the district roster: teachers and the people who observe them.
type Staff struct {
	DistrictID string
	ID         string
	GivenName  string
	FamilyName string
	Email      string
	Role       StaffRole
	SiteIDs    []string
	// Status, when set, is written: active, inactive or tobedeleted (OneRoster users.csv).
	// Empty keeps the stored status; a new record is active. Only active staff sign in.
	Status    string
	CreatedAt time.Time // set when read from storage
	UpdatedAt time.Time // set when read from storage; unchanged by a write that changes nothing
}

// StaffRole is a roster role; observers also carry one of the sign-in observation.Roles.
type StaffRole string

const (
	StaffTeacher       StaffRole = "teacher"
	StaffCoach         StaffRole = "coach"
	StaffPrincipal     StaffRole = "principal"
	StaffDistrictAdmin StaffRole = "district_admin"
)

// staffRoles lists every roster role, in a stable order.
var staffRoles = []StaffRole{StaffTeacher, StaffCoach, StaffPrincipal, StaffDistrictAdmin}

// valid reports whether r is a known roster role.
func (r StaffRole) valid() bool { return slices.Contains(staffRoles, r) }
