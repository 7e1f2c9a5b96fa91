package identity

import (
	"context"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// NetworkStore stores network-level people (implemented by store.Store).
type NetworkStore interface {
	ListNetworkStaff(ctx context.Context) ([]NetworkStaff, error)
	// NetworkStaffUpsert writes one person and the audit entry in one transaction; status empty
	// keeps the stored status (a new record is active).
	NetworkStaffUpsert(ctx context.Context, s NetworkStaff, audit observation.AuditEntry) (NetworkStaff, error)
}

// NetworkPeople lets admins manage the network-level people: admins and network analysts, who
// belong to no district. They sign in like anyone else, by the link to their record.
type NetworkPeople struct {
	Store NetworkStore
	Now   func() time.Time
}

func adminOnly(p observation.Principal) error {
	if p.Role != observation.RoleAdmin {
		return observation.Denied("only admins manage the network's people")
	}
	return nil
}

// List returns every network-level person, by staff id.
func (n *NetworkPeople) List(ctx context.Context, p observation.Principal) ([]NetworkStaff, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	return n.Store.ListNetworkStaff(ctx)
}

// Upsert creates or changes a network-level person, audited in the network's log.
func (n *NetworkPeople) Upsert(ctx context.Context, p observation.Principal, s NetworkStaff) (NetworkStaff, error) {
	if err := adminOnly(p); err != nil {
		return NetworkStaff{}, err
	}
	if err := observation.ValidateID("staff.staff_id", s.StaffID); err != nil {
		return NetworkStaff{}, err
	}
	if s.Role != observation.RoleAdmin && s.Role != observation.RoleNetworkAnalyst {
		return NetworkStaff{}, observation.Invalid("staff.role", "BAD_ROLE", "a network-level person is an admin or a network analyst, not %q", observation.Clip(string(s.Role)))
	}
	for _, f := range []struct{ path, v string }{{"staff.given_name", s.GivenName}, {"staff.family_name", s.FamilyName}, {"staff.email", s.Email}} {
		if err := observation.CheckText(f.path, f.v, 254); err != nil {
			return NetworkStaff{}, err
		}
	}
	if s.Email != "" && (!strings.Contains(s.Email, "@") || strings.ContainsAny(s.Email, " \t")) {
		return NetworkStaff{}, observation.Invalid("staff.email", "BAD_EMAIL", "%q is not an email address", observation.Clip(s.Email))
	}
	if s.Status != "" && !s.Status.Valid() {
		return NetworkStaff{}, observation.Invalid("staff.status", "BAD_STATUS", "status %q is not active, inactive or tobedeleted", observation.Clip(string(s.Status)))
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	a := observation.Audit(p, observation.NetworkOwner, "network_staff.upsert", "staff", s.StaffID, now().UTC())
	a.Details["role"], a.Details["status"], a.Details["email"] = string(s.Role), string(s.Status), s.Email
	return n.Store.NetworkStaffUpsert(ctx, s, a)
}
