package observation

import (
	"context"
	"time"
)

// RubricStore is what the rubric use-cases need from storage. Implementations run each
// callback inside one transaction holding a lock on the rows it reads, so the domain decides
// state transitions and the store only persists them.
type RubricStore interface {
	// ListRubrics returns the rubrics owned by any of owners (all owners when owners is nil),
	// with every version summarised.
	ListRubrics(ctx context.Context, owners []string) ([]Rubric, error)
	// GetRubricVersion returns one version; version 0 means the newest published one.
	// A missing rubric or version is KindNotFound.
	GetRubricVersion(ctx context.Context, rubricID string, version int) (RubricVersion, error)
	// CreateRubric stores a new rubric with v as its version 1. A rubric id that exists
	// anywhere in the network is KindAlreadyExists.
	CreateRubric(ctx context.Context, v RubricVersion, audit AuditEntry) error
	// CreateVersion locks the rubric, passes fn its newest version, and stores what fn returns
	// as the next version number.
	CreateVersion(ctx context.Context, rubricID string, audit AuditEntry, fn func(newest RubricVersion) (RubricVersion, error)) (RubricVersion, error)
	// UpdateVersion locks one version, lets fn change it, and stores the result; it writes
	// nothing (no audit either) when fn changes nothing.
	UpdateVersion(ctx context.Context, rubricID string, version int, audit AuditEntry, fn func(*RubricVersion) error) (RubricVersion, error)

	// Every write above records audit (when its Action is set) in the same transaction, with the
	// version, status and content hash written added to its details.
}

// Rubrics holds the rubric use-cases: reading with scope checks, and the draft → published →
// retired lifecycle for those who may edit.
type Rubrics struct {
	Store RubricStore
	Now   func() time.Time
}

func (r *Rubrics) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// List returns the rubrics p may see; drafts are summarised only for those who may edit them.
func (r *Rubrics) List(ctx context.Context, p Principal) ([]Rubric, error) {
	var owners []string
	if p.Role != RoleAdmin {
		owners = []string{NetworkOwner}
		if p.DistrictID != "" && p.Role != RoleNetworkAnalyst {
			owners = append(owners, p.DistrictID)
		}
	}
	all, err := r.Store.ListRubrics(ctx, owners)
	if err != nil {
		return nil, err
	}
	out := make([]Rubric, 0, len(all))
	for _, rb := range all {
		if !p.CanSeeRubric(rb.OwnerID) {
			continue
		}
		if !p.canSeeDrafts(rb.OwnerID) {
			kept := rb.Versions[:0:0]
			for _, v := range rb.Versions {
				if v.Status != StatusDraft {
					kept = append(kept, v)
				}
			}
			rb.Versions = kept
			if len(kept) == 0 {
				continue // nothing this caller can use yet
			}
		}
		out = append(out, rb)
	}
	return out, nil
}

// Get returns one version (0 = newest published). A rubric outside p's scope, and a draft p may
// not edit, are reported as not found so their existence does not leak.
func (r *Rubrics) Get(ctx context.Context, p Principal, rubricID string, version int) (RubricVersion, error) {
	v, err := r.Store.GetRubricVersion(ctx, rubricID, version)
	if err != nil {
		return RubricVersion{}, err
	}
	if !p.CanSeeRubric(v.OwnerID) || (v.Status == StatusDraft && !p.canSeeDrafts(v.OwnerID)) {
		return RubricVersion{}, rubricNotFound(rubricID, version).In(v.OwnerID)
	}
	return v, nil
}

func rubricNotFound(rubricID string, version int) *Error {
	if version == 0 {
		return NotFound("published version of rubric", rubricID)
	}
	return &Error{Kind: KindNotFound, Reason: "NOT_FOUND", Message: "rubric " + quote(rubricID) + " version " + itoa(version) + " not found"}
}

// Create makes a new rubric owned by owner (a district, or NetworkOwner) with draft version 1.
func (r *Rubrics) Create(ctx context.Context, p Principal, owner, rubricID string, c RubricContent) (RubricVersion, error) {
	if err := ValidateID("owner_id", owner); err != nil {
		return RubricVersion{}, err
	}
	if err := ValidateID("rubric_id", rubricID); err != nil {
		return RubricVersion{}, err
	}
	if !p.CanSeeRubric(owner) && owner != NetworkOwner {
		return RubricVersion{}, NotFound("district", owner)
	}
	if !p.CanEditRubric(owner) {
		return RubricVersion{}, Denied("role %s may not create rubrics for %s", p.Role, owner)
	}
	if err := ValidateRubricContent(c); err != nil {
		return RubricVersion{}, err
	}
	now := r.now()
	v := RubricVersion{
		OwnerID: owner, RubricID: rubricID, Version: 1, Status: StatusDraft,
		Content: c, ContentHash: c.Hash(), CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now,
	}
	if err := r.Store.CreateRubric(ctx, v, Audit(p, owner, "rubric.create", "rubric", rubricID, now)); err != nil {
		return RubricVersion{}, err
	}
	return v, nil
}

// CreateDraft starts the next version of a rubric as a draft: with content c, or a copy of the
// newest version when c is nil.
func (r *Rubrics) CreateDraft(ctx context.Context, p Principal, rubricID string, c *RubricContent) (RubricVersion, error) {
	if c != nil {
		if err := ValidateRubricContent(*c); err != nil {
			return RubricVersion{}, err
		}
	}
	// Whether the rubric has a published version decides what a caller who may not see drafts
	// learns: a rubric with drafts only must look missing to them, whatever its newest version.
	_, perr := r.Store.GetRubricVersion(ctx, rubricID, 0)
	if perr != nil && KindOf(perr) != KindNotFound {
		return RubricVersion{}, perr
	}
	published := perr == nil
	audit := Audit(p, p.DistrictID, "rubric.draft", "rubric", rubricID, r.now())
	return r.Store.CreateVersion(ctx, rubricID, audit, func(newest RubricVersion) (RubricVersion, error) {
		if !p.CanSeeRubric(newest.OwnerID) || (!published && !p.canSeeDrafts(newest.OwnerID)) {
			return RubricVersion{}, NotFound("rubric", rubricID).In(newest.OwnerID)
		}
		if !p.CanEditRubric(newest.OwnerID) {
			return RubricVersion{}, Denied("role %s may not change rubric %q", p.Role, rubricID)
		}
		content := newest.Content
		if c != nil {
			content = *c
		}
		now := r.now()
		return RubricVersion{
			OwnerID: newest.OwnerID, RubricID: rubricID, Version: newest.Version + 1, Status: StatusDraft,
			Content: content, ContentHash: content.Hash(), CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now,
		}, nil
	})
}

// UpdateDraft replaces a draft's content. When expectedHash is set, it must equal the draft's
// current content hash. Published and retired versions are immutable.
func (r *Rubrics) UpdateDraft(ctx context.Context, p Principal, rubricID string, version int, c RubricContent, expectedHash string) (RubricVersion, error) {
	if err := ValidateRubricContent(c); err != nil {
		return RubricVersion{}, err
	}
	return r.Store.UpdateVersion(ctx, rubricID, version, Audit(p, p.DistrictID, "rubric.update", "rubric", rubricID, r.now()), func(v *RubricVersion) error {
		if err := r.mayEdit(p, *v, version); err != nil {
			return err
		}
		if v.Status != StatusDraft {
			return Precondition("RUBRIC_VERSION_IMMUTABLE",
				"rubric %q version %d is %s and can no longer be edited; create a new draft version instead", rubricID, version, v.Status)
		}
		if expectedHash != "" && expectedHash != v.ContentHash {
			return Precondition("RUBRIC_VERSION_CHANGED",
				"rubric %q version %d changed since you read it (content hash is now %s); reload it and apply your edit again", rubricID, version, v.ContentHash)
		}
		v.Content = c
		v.ContentHash = c.Hash()
		v.UpdatedAt = r.now()
		return nil
	})
}

// Publish freezes a draft. Publishing an already published version is a no-op, so a retried
// call succeeds.
func (r *Rubrics) Publish(ctx context.Context, p Principal, rubricID string, version int) (RubricVersion, error) {
	return r.Store.UpdateVersion(ctx, rubricID, version, Audit(p, p.DistrictID, "rubric.publish", "rubric", rubricID, r.now()), func(v *RubricVersion) error {
		if err := r.mayEdit(p, *v, version); err != nil {
			return err
		}
		switch v.Status {
		case StatusPublished:
			return nil
		case StatusRetired:
			return Precondition("RUBRIC_VERSION_RETIRED", "rubric %q version %d is retired and cannot be published again", rubricID, version)
		}
		if err := ValidateRubricContent(v.Content); err != nil {
			return Precondition("RUBRIC_VERSION_INVALID", "rubric %q version %d cannot be published: %v", rubricID, version, err)
		}
		now := r.now()
		v.Status, v.PublishedAt, v.UpdatedAt = StatusPublished, &now, now
		return nil
	})
}

// Retire stops a published version from accepting new records. Retiring twice is a no-op.
func (r *Rubrics) Retire(ctx context.Context, p Principal, rubricID string, version int) (RubricVersion, error) {
	return r.Store.UpdateVersion(ctx, rubricID, version, Audit(p, p.DistrictID, "rubric.retire", "rubric", rubricID, r.now()), func(v *RubricVersion) error {
		if err := r.mayEdit(p, *v, version); err != nil {
			return err
		}
		switch v.Status {
		case StatusRetired:
			return nil
		case StatusDraft:
			return Precondition("RUBRIC_VERSION_DRAFT", "rubric %q version %d is a draft; only published versions can be retired", rubricID, version)
		}
		now := r.now()
		v.Status, v.RetiredAt, v.UpdatedAt = StatusRetired, &now, now
		return nil
	})
}

// mayEdit decides, for a version the store has read, whether p may change it; callers outside
// the owner's scope learn nothing about its existence.
func (r *Rubrics) mayEdit(p Principal, v RubricVersion, version int) error {
	if !p.CanSeeRubric(v.OwnerID) || (v.Status == StatusDraft && !p.canSeeDrafts(v.OwnerID) && !p.CanEditRubric(v.OwnerID)) {
		return rubricNotFound(v.RubricID, version).In(v.OwnerID)
	}
	if !p.CanEditRubric(v.OwnerID) {
		return Denied("role %s may not change rubric %q", p.Role, v.RubricID)
	}
	return nil
}

// DefaultRubricVersion is the network's K-8 Academic Discourse rubric as published version 1,
// as `lookfor seed` stores it.
func DefaultRubricVersion(now time.Time) RubricVersion {
	c := DefaultRubric()
	return RubricVersion{
		OwnerID: NetworkOwner, RubricID: DefaultRubricID, Version: 1, Status: StatusPublished,
		Content: c, ContentHash: c.Hash(), CreatedBy: "lookfor seed",
		CreatedAt: now, UpdatedAt: now, PublishedAt: &now,
	}
}
