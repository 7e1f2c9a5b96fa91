package observation

import "slices"

// Role is what a signed-in user does in the network.
type Role string

const (
	RoleCoach          Role = "coach"
	RolePrincipal      Role = "principal"
	RoleDistrictAdmin  Role = "district_admin"
	RoleNetworkAnalyst Role = "network_analyst"
	RoleAdmin          Role = "admin"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleCoach, RolePrincipal, RoleDistrictAdmin, RoleNetworkAnalyst, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// NetworkOwner is the owner id of resources that belong to the whole network rather than one
// district (the default rubric). It can never be a district id.
const NetworkOwner = "network"

// Principal is the authenticated caller: who they are and the scope they act in.
type Principal struct {
	UserID     string
	Role       Role
	DistrictID string   // empty for network analysts and admins
	SiteIDs    []string // coach: assigned sites; principal: their site
	DeviceID   string   // the tablet the call came from, when it says so
}

// InDistrict reports whether the principal acts within district d.
func (p Principal) InDistrict(d string) bool {
	if p.Role == RoleAdmin {
		return true
	}
	return p.DistrictID != "" && p.DistrictID == d
}

// CanSeeSite reports whether the principal may read site-level data of site s in district d.
func (p Principal) CanSeeSite(d, s string) bool {
	switch p.Role {
	case RoleAdmin:
		return true
	case RoleDistrictAdmin:
		return p.DistrictID == d
	case RoleCoach, RolePrincipal:
		return p.DistrictID == d && slices.Contains(p.SiteIDs, s)
	}
	return false
}

// CanSeeRubric reports whether the principal may read rubrics owned by owner (a district id or
// NetworkOwner). Network rubrics are visible to everyone; a district's rubrics to its own people.
func (p Principal) CanSeeRubric(owner string) bool {
	if owner == NetworkOwner {
		return true
	}
	return p.InDistrict(owner) && p.Role != RoleNetworkAnalyst
}

// canSeeDrafts reports whether the principal may read draft rubric versions owned by owner.
func (p Principal) canSeeDrafts(owner string) bool { return p.CanEditRubric(owner) }

// CanEditRubric reports whether the principal may create, edit, publish and retire rubric
// versions owned by owner: district admins for their district, admins for everything.
func (p Principal) CanEditRubric(owner string) bool {
	switch p.Role {
	case RoleAdmin:
		return true
	case RoleDistrictAdmin:
		return owner != NetworkOwner && p.DistrictID == owner
	}
	return false
}
