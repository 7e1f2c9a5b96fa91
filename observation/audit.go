package observation

import (
	"context"
	"time"
)

// AuditEntry is one line of the audit log: who, in which role, from which device, did what to
// which resource, when. Writes record it in the same transaction as the change; classroom- and
// teacher-level reads record it as they answer.
type AuditEntry struct {
	ID           int64
	DistrictID   string // the district whose data it concerns, or NetworkOwner
	At           time.Time
	Actor        string
	Role         Role
	DeviceID     string
	Action       string // e.g. "rubric.publish", "sync.push", "observation.read"
	ResourceType string
	ResourceID   string
	Details      map[string]any
}

// Audit starts an entry for p acting on a resource of district.
func Audit(p Principal, district, action, resourceType, resourceID string, at time.Time) AuditEntry {
	if district == "" {
		district = NetworkOwner
	}
	return AuditEntry{DistrictID: district, At: at, Actor: p.UserID, Role: p.Role, DeviceID: p.DeviceID,
		Action: action, ResourceType: resourceType, ResourceID: resourceID, Details: map[string]any{}}
}

// AuditQuery filters the audit log of one district, newest first.
type AuditQuery struct {
	DistrictID   string
	Actor        string
	Action       string
	ResourceType string
	ResourceID   string
	Since, Until time.Time // zero: unbounded
	Limit        int
	BeforeID     int64 // paging: entries older than this id; 0 from the newest
}

// auditStore reads the audit log.
type auditStore interface {
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// AuditLog lets district admins read their district's audit log (admins: any district's).
type AuditLog struct {
	Store auditStore
}

// List returns one page of q.DistrictID's audit log.
func (a *AuditLog) List(ctx context.Context, p Principal, q AuditQuery) ([]AuditEntry, error) {
	if err := ValidateID("district_id", q.DistrictID); err != nil {
		return nil, err
	}
	switch p.Role {
	case RoleAdmin:
	case RoleDistrictAdmin:
		if p.DistrictID != q.DistrictID {
			return nil, NotFound("district", q.DistrictID)
		}
	default:
		if p.InDistrict(q.DistrictID) {
			return nil, Denied("only district admins read the audit log")
		}
		return nil, NotFound("district", q.DistrictID)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return nil, Invalid("until", "BAD_RANGE", "until (%s) is before since (%s)", q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	}
	return a.Store.ListAudit(ctx, q)
}
