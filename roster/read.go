package roster

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Page asks for one page of a list.
type Page struct {
	Size  int    // 0: DefaultPageSize
	After string // the last id of the previous page ("" for the first)
}

// pageToken is the opaque token of the page after id.
func pageToken(lastID string) string {
	if lastID == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("r1:" + lastID))
}

// PageAfter decodes a token made by pageToken.
func PageAfter(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(b), "r1:") {
		return "", observation.Invalid("page_token", reasonBadPageToken, "the page token was not issued by this service")
	}
	return strings.TrimPrefix(string(b), "r1:"), nil
}

func (pg Page) limit() (int, error) {
	switch {
	case pg.Size == 0:
		return DefaultPageSize, nil
	case pg.Size < 0 || pg.Size > maxPageSize:
		return 0, observation.Invalid("page_size", observation.ReasonOutOfRange, "page size must be 1 to %d, got %d", maxPageSize, pg.Size)
	}
	return pg.Size, nil
}

// page runs a keyset-paged list: it asks for one row more than the page and returns the token of
// the next page when there is one.
func page[T any](ctx context.Context, pg Page, q Query, list func(context.Context, Query) ([]T, error), id func(T) string) ([]T, string, error) {
	n, err := pg.limit()
	if err != nil {
		return nil, "", err
	}
	q.After, q.Limit = pg.After, n+1
	rows, err := list(ctx, q)
	if err != nil {
		return nil, "", err
	}
	if len(rows) <= n {
		return rows, "", nil
	}
	rows = rows[:n]
	return rows, pageToken(id(rows[n-1])), nil
}

// scopedQuery is the query for p's view of district d, narrowed to siteID when set. A coach or
// principal naming a site outside their scope gets not found.
func scopedQuery(p observation.Principal, d, siteID string) (Query, error) {
	q := Query{DistrictID: d, SiteID: siteID}
	if siteID != "" {
		if err := observation.ValidateID("site_id", siteID); err != nil {
			return q, err
		}
		if !p.CanSeeSite(d, siteID) {
			return q, observation.NotFound("site", siteID)
		}
	}
	if siteScoped(p) {
		q.Scoped, q.SiteIDs = true, append([]string{}, p.SiteIDs...)
	}
	return q, nil
}

// ListSites returns one page of the district's sites p may see.
func (r *Service) ListSites(ctx context.Context, p observation.Principal, d string, pg Page) ([]observation.Site, string, error) {
	if _, err := r.district(ctx, p, d, false); err != nil {
		return nil, "", err
	}
	q, _ := scopedQuery(p, d, "")
	return page(ctx, pg, q, r.Store.ListRosterSites, func(s observation.Site) string { return s.ID })
}

// GetSite returns one site p may see.
func (r *Service) GetSite(ctx context.Context, p observation.Principal, d, siteID string) (observation.Site, error) {
	if err := observation.ValidateID("site_id", siteID); err != nil {
		return observation.Site{}, err
	}
	if _, err := r.district(ctx, p, d, false); err != nil {
		return observation.Site{}, err
	}
	q, err := scopedQuery(p, d, siteID)
	if err != nil {
		return observation.Site{}, err
	}
	q.IDs, q.Limit = []string{siteID}, 1
	ss, err := r.Store.ListRosterSites(ctx, q)
	if err != nil {
		return observation.Site{}, err
	}
	if len(ss) == 0 {
		return observation.Site{}, observation.NotFound("site", siteID)
	}
	return ss[0], nil
}

// ListClassrooms returns one page of the classrooms p may see, at siteID when set.
func (r *Service) ListClassrooms(ctx context.Context, p observation.Principal, d, siteID string, pg Page) ([]observation.Classroom, string, error) {
	if _, err := r.district(ctx, p, d, false); err != nil {
		return nil, "", err
	}
	q, err := scopedQuery(p, d, siteID)
	if err != nil {
		return nil, "", err
	}
	out, next, err := page(ctx, pg, q, r.Store.ListRosterClassrooms, func(c observation.Classroom) string { return c.ID })
	if err != nil {
		return nil, "", err
	}
	return out, next, r.auditRead(ctx, p, d, "roster.list_classrooms", "classroom", siteID, len(out))
}

// auditRead records a read of teacher-level data (which teacher teaches which classroom).
func (r *Service) auditRead(ctx context.Context, p observation.Principal, d, action, resourceType, siteID string, n int) error {
	a := observation.Audit(p, d, action, resourceType, siteID, r.now())
	a.Details["site_id"], a.Details["count"] = siteID, n
	return r.Store.Audit(ctx, a)
}

// ListStaff returns one page of the staff p may see (coaches and principals: staff assigned to
// their sites), at siteID and with role when set.
func (r *Service) ListStaff(ctx context.Context, p observation.Principal, d, siteID string, role StaffRole, pg Page) ([]Staff, string, error) {
	if role != "" && !role.valid() {
		return nil, "", observation.Invalid("role", reasonBadStaffRole, "role %s is not one of %v", observation.Clip(string(role)), staffRoles)
	}
	if _, err := r.district(ctx, p, d, false); err != nil {
		return nil, "", err
	}
	q, err := scopedQuery(p, d, siteID)
	if err != nil {
		return nil, "", err
	}
	q.Role = role
	out, next, err := page(ctx, pg, q, r.Store.ListRosterStaff, func(s Staff) string { return s.ID })
	if err != nil {
		return nil, "", err
	}
	return out, next, r.auditRead(ctx, p, d, "roster.list_staff", "staff", siteID, len(out))
}
