package roster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// users.csv and roles.csv: which users become staff, with which roster role and sites.

// OneRoster roles (user roles of 1.1 and 1.2 and enrollment roles) and what lookfor does with them.
var (
	oneRosterTeacher   = []string{"teacher"}
	oneRosterPrincipal = []string{"administrator", "principal", "siteadministrator"}
	oneRosterDistrict  = []string{"districtadministrator"}
	oneRosterStudent   = []string{"student"}
	oneRosterFamily    = []string{"parent", "guardian", "relative"}
	oneRosterIgnored   = []string{"aide", "proctor", "counselor", "systemadministrator"}
	oneRosterOrgTypes  = []string{"department", "school", "district", "local", "state", "national"}
	oneRosterStatuses  = []string{"", "active", "tobedeleted", "inactive"}
)

// staffRoleOf maps a OneRoster role (lower case) to a roster role; ok is false for roles lookfor
// does not roster.
func staffRoleOf(role string) (StaffRole, bool) {
	switch {
	case slices.Contains(oneRosterTeacher, role):
		return StaffTeacher, true
	case slices.Contains(oneRosterPrincipal, role):
		return StaffPrincipal, true
	case slices.Contains(oneRosterDistrict, role):
		return StaffDistrictAdmin, true
	}
	return "", false
}

func knownRole(role string) bool {
	_, staff := staffRoleOf(role)
	return staff || slices.Contains(oneRosterStudent, role) || slices.Contains(oneRosterFamily, role) ||
		slices.Contains(oneRosterIgnored, role) || strings.HasPrefix(role, "ext:")
}

// rolePriority orders roster roles when a user holds several: the broadest wins.
var rolePriority = map[StaffRole]int{StaffTeacher: 1, StaffPrincipal: 2, StaffDistrictAdmin: 3}

// userRole is a role a user holds, with where it was stated.
type userRole struct {
	role    StaffRole
	primary bool
	orgs    []string
	file    string
	line    int
}

// adult is a users.csv user lookfor rosters, or one it deliberately skipped.
type adult struct {
	index   int // into out.Batch.Staff; -1 when skipped
	skipped string
}

// roles reads OneRoster 1.2 roles.csv: one line per user, role and org.
func (p *oneRosterParser) roles(data string, roles map[string][]userRole) {
	t, iss := openCSV(rolesCSV, data)
	if iss == nil {
		iss = t.require("userSourcedId", "role")
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
		role, ok := p.roleName(r, "role")
		if !ok {
			return
		}
		user := r.get("userSourcedId")
		if user == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "userSourcedId is empty")
			return
		}
		ur := userRole{file: r.t.file, line: r.line, primary: strings.EqualFold(r.get("roleType"), "primary")}
		if sr, staff := staffRoleOf(role); staff {
			ur.role = sr
		} else {
			ur.role = StaffRole("oneroster:" + role) // not rostered; kept to tell students apart
		}
		if org := r.get("orgSourcedId"); org != "" {
			ur.orgs = []string{org}
		}
		roles[user] = append(roles[user], ur)
	})
}

func (p *oneRosterParser) users(data string, haveRoles bool, roles map[string][]userRole, schools map[string]int, otherOrgs map[string]string, adults map[string]adult) {
	t, iss := openCSV(usersCSV, data)
	if iss == nil {
		iss = t.require("sourcedId")
	}
	if iss == nil && !t.has("role") && !haveRoles {
		iss = &ImportIssue{File: usersCSV, Line: 1, Reason: reasonMissingCol,
			Message: "the header has no role column: a OneRoster 1.2 export that gives roles in roles.csv needs roles.csv too"}
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	lines := map[string]int{}
	p.each(t, func(r row) {
		var held []userRole
		if t.has("role") && r.get("role") != "" {
			role, ok := p.roleName(r, "role")
			if !ok {
				return
			}
			ur := userRole{primary: true, orgs: r.list("orgSourcedIds"), file: r.t.file, line: r.line}
			if sr, staff := staffRoleOf(role); staff {
				ur.role = sr
			} else {
				ur.role = StaffRole("oneroster:" + role)
			}
			held = append(held, ur)
		}
		user := r.get("sourcedId")
		held = append(held, roles[user]...)
		if len(held) == 0 {
			if !haveRoles && t.has("role") {
				p.fail(r.t.file, r.line, observation.ReasonRequired, "role is empty")
				return
			}
			p.out.Skipped.OtherUsers++
			p.warn(r.t.file, r.line, "users/norole", "users without a role are skipped")
			return
		}
		// Students are skipped before anything else about them is read or checked.
		staffRole, other := pickRole(held)
		if staffRole == "" {
			switch {
			case other == "student":
				p.out.Skipped.Students++
			case slices.Contains(oneRosterFamily, other):
				p.out.Skipped.OtherUsers++
			default:
				p.out.Skipped.OtherUsers++
				p.warn(r.t.file, r.line, "users/role/"+other, fmt.Sprintf("users with role %q are not rostered in lookfor and are skipped", other))
			}
			if user != "" {
				adults[user] = adult{index: -1, skipped: other}
			}
			return
		}
		deleted, ok := p.status(r)
		if !ok || deleted {
			if deleted && user != "" {
				status := strings.ToLower(r.get("status"))
				adults[user] = adult{index: -1, skipped: "user with status " + status}
				if p.out.Batch.Ended == nil {
					p.out.Batch.Ended = map[string]string{}
				}
				p.out.Batch.Ended[user] = status // the record, if any, can no longer sign in
			}
			return
		}
		id, ok := p.id(r, "sourcedId", "staff")
		if !ok {
			return
		}
		if first, dup := lines[id]; dup {
			p.fail(r.t.file, r.line, reasonDuplicateID, "user %q is listed twice (first at line %d)", id, first)
			return
		}
		lines[id] = r.line
		s := Staff{ID: id, Role: staffRole, Status: "active"}
		if s.GivenName, ok = p.text(r, "givenName", r.get("givenName"), maxNameLength); !ok {
			return
		}
		if s.FamilyName, ok = p.text(r, "familyName", r.get("familyName"), maxNameLength); !ok {
			return
		}
		s.Email = r.get("email")
		if err := checkEmail(s.Email); err != nil {
			p.fail(r.t.file, r.line, err.Reason, "email: %s", err.Message)
			return
		}
		var refs []orgRef
		addOrg := func(org string, file string, line int) bool {
			if _, other := otherOrgs[org]; other || slices.Contains(s.SiteIDs, org) {
				return true // the district or another non-school org: no site assignment
			}
			if err := observation.ValidateID("orgSourcedIds", org); err != nil {
				p.fail(file, line, observation.ReasonBadID, "org %s cannot be a lookfor site id", observation.Clip(org))
				return false
			}
			s.SiteIDs = append(s.SiteIDs, org)
			refs = append(refs, orgRef{file: file, line: line})
			return true
		}
		for _, ur := range held {
			if ur.role != staffRole {
				continue
			}
			for _, org := range ur.orgs {
				if !addOrg(org, ur.file, ur.line) {
					return
				}
			}
		}
		if org := r.get("primaryOrgSourcedId"); org != "" && staffRole != StaffDistrictAdmin {
			if !addOrg(org, r.t.file, r.line) {
				return
			}
		}
		if staffRole == StaffDistrictAdmin {
			s.SiteIDs, refs = nil, nil
		}
		adults[id] = adult{index: len(p.out.Batch.Staff)}
		p.out.Batch.Staff = append(p.out.Batch.Staff, s)
		p.out.staffLines = append(p.out.staffLines, r.line)
		p.out.staffOrgs = append(p.out.staffOrgs, refs)
	})
}

// pickRole chooses the roster role of a user holding several OneRoster roles: a primary rostered
// role first, else the broadest; other is the first role lookfor does not roster, for users who
// hold none it does.
func pickRole(held []userRole) (role StaffRole, other string) {
	primary := false
	for _, ur := range held {
		if strings.HasPrefix(string(ur.role), "oneroster:") {
			if other == "" {
				other = strings.TrimPrefix(string(ur.role), "oneroster:")
			}
			continue
		}
		if role == "" || (ur.primary && !primary) || (ur.primary == primary && rolePriority[ur.role] > rolePriority[role]) {
			role, primary = ur.role, ur.primary
		}
	}
	return role, other
}
