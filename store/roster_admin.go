package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
)

// The roster and district-settings storage behind roster.Service: keyset-paged lists and
// transactional writes that report what they created, updated and left unchanged.

// maxAuditIDs bounds the ids of created or updated rows listed in one audit entry, per kind.
const maxAuditIDs = 1000

// errDryRun rolls back a dry-run write after it was checked and counted.
var errDryRun = errors.New("dry run: rolled back")

// RosterDistrict returns a district with its settings (network defaults for unset fields).
func (s *Store) RosterDistrict(ctx context.Context, id string) (observation.District, error) {
	return readDistrict(ctx, s.pool, id, "")
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readDistrict(ctx context.Context, q queryRower, id, lock string) (observation.District, error) {
	d := observation.District{ID: id}
	var settings []byte
	err := q.QueryRow(ctx, `SELECT name, settings, updated_at FROM districts WHERE district_id = $1 `+lock, id).
		Scan(&d.Name, &settings, &d.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, observation.NotFound("district", id)
	}
	if err != nil {
		return d, classify(err)
	}
	d.Settings = observation.DefaultDistrictSettings()
	if err := json.Unmarshal(settings, &d.Settings); err != nil {
		return d, fmt.Errorf("district %s settings: %w", id, err)
	}
	return d, nil
}

// UpdateDistrict locks a district row, lets fn change it and, when fn returns an audit entry,
// stores the settings and the entry in the same transaction. When the change moves records
// between periods (the school year's first month or the named windows), the district's progress
// aggregates are rebuilt in that transaction too, so the views never mix the old periods with
// the new.
func (s *Store) UpdateDistrict(ctx context.Context, id string, fn func(*observation.District) (*observation.AuditEntry, error)) (observation.District, error) {
	var out observation.District
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		// NO KEY UPDATE: observation writes (which take KEY SHARE through their foreign key to
		// districts) are not blocked by a settings change.
		d, err := readDistrict(ctx, tx, id, "FOR NO KEY UPDATE")
		if err != nil {
			return err
		}
		before := d.Settings
		before.Windows = slices.Clone(before.Windows)
		audit, err := fn(&d)
		if err != nil {
			return err
		}
		if audit != nil {
			raw, err := json.Marshal(d.Settings)
			if err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `UPDATE districts SET settings = $2, updated_at = now() WHERE district_id = $1 RETURNING updated_at`,
				id, raw).Scan(&d.UpdatedAt); err != nil {
				return err
			}
			if err := insertAudit(ctx, tx, *audit); err != nil {
				return err
			}
			if d.Settings.SchoolYearStartMonth != before.SchoolYearStartMonth || !slices.Equal(d.Settings.Windows, before.Windows) {
				if err := s.rebuildProgress(ctx, tx, id); err != nil {
					return err
				}
			}
		}
		out = d
		return nil
	})
	return out, err
}

// rosterLookup answers a roster write's reference checks inside its transaction.
type rosterLookup struct {
	tx       pgx.Tx
	district string
}

func (l rosterLookup) SitesExist(ctx context.Context, ids []string) (map[string]bool, error) {
	rows, err := l.tx.Query(ctx, `SELECT site_id FROM sites WHERE district_id = $1 AND site_id = ANY($2::text[])`, l.district, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error { out[id] = true; return nil })
	return out, err
}

func (l rosterLookup) StaffRoles(ctx context.Context, ids []string) (map[string]roster.StaffRole, error) {
	rows, err := l.tx.Query(ctx, `SELECT staff_id, role FROM staff WHERE district_id = $1 AND staff_id = ANY($2::text[])`, l.district, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]roster.StaffRole{}
	var id, role string
	_, err = pgx.ForEachRow(rows, []any{&id, &role}, func() error { out[id] = roster.StaffRole(role); return nil })
	return out, err
}

// changeSet collects what one table's upsert did.
type changeSet struct {
	created, updated []string
}

func (c *changeSet) counts(total int) roster.UpsertCounts {
	return roster.UpsertCounts{Created: len(c.created), Updated: len(c.updated), Unchanged: total - len(c.created) - len(c.updated)}
}

func (c *changeSet) details() map[string]any {
	out := map[string]any{}
	for k, ids := range map[string][]string{"created": c.created, "updated": c.updated} {
		if len(ids) == 0 {
			continue
		}
		if len(ids) > maxAuditIDs {
			out[k+"_truncated"] = true
			ids = ids[:maxAuditIDs]
		}
		out[k] = ids
	}
	return out
}

// collect reads (id, created) rows returned by an upsert.
func collect(rows pgx.Rows, c *changeSet) error {
	var id string
	var created bool
	_, err := pgx.ForEachRow(rows, []any{&id, &created}, func() error {
		if created {
			c.created = append(c.created, id)
		} else {
			c.updated = append(c.updated, id)
		}
		return nil
	})
	return err
}

// ApplyRoster writes a roster batch in one transaction: it locks the district, runs the domain's
// reference check, upserts sites, staff (with their site assignments) and classrooms with one
// statement each (unnest arrays), and writes the audit entry when anything changed. Rows equal to
// the stored ones are not touched, so a repeated write changes nothing, updated_at included.
func (s *Store) ApplyRoster(ctx context.Context, w roster.Write) (roster.Counts, error) {
	var counts roster.Counts
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		if _, err := readDistrict(ctx, tx, w.DistrictID, "FOR NO KEY UPDATE"); err != nil {
			return err
		}
		if w.Check != nil {
			if err := w.Check(ctx, rosterLookup{tx: tx, district: w.DistrictID}); err != nil {
				return err
			}
		}
		var sites, staff, classrooms changeSet
		if err := applySites(ctx, tx, w.DistrictID, w.Batch.Sites, &sites); err != nil {
			return err
		}
		if err := applyStaff(ctx, tx, w.DistrictID, w.Batch.Staff, &staff); err != nil {
			return err
		}
		if err := applyStaffStatus(ctx, tx, w.DistrictID, w.Batch.Staff, w.Batch.Ended, &staff); err != nil {
			return err
		}
		if err := applyClassrooms(ctx, tx, w.DistrictID, w.Batch.Classrooms, &classrooms); err != nil {
			return err
		}
		counts = roster.Counts{
			Sites:      sites.counts(len(w.Batch.Sites)),
			Classrooms: classrooms.counts(len(w.Batch.Classrooms)),
			Staff:      staff.counts(len(w.Batch.Staff)),
		}
		if w.DryRun {
			return errDryRun
		}
		if !counts.Changed() {
			return nil
		}
		a := w.Audit
		details := make(map[string]any, len(a.Details)+4)
		for k, v := range a.Details {
			details[k] = v
		}
		details["counts"] = counts
		for k, c := range map[string]*changeSet{"sites": &sites, "classrooms": &classrooms, "staff": &staff} {
			if d := c.details(); len(d) > 0 {
				details[k] = d
			}
		}
		a.Details = details
		if a.At.IsZero() {
			a.At = time.Now().UTC()
		}
		return insertAudit(ctx, tx, a)
	})
	if errors.Is(err, errDryRun) {
		return counts, nil
	}
	return counts, err
}

func applySites(ctx context.Context, tx pgx.Tx, district string, ss []observation.Site, c *changeSet) error {
	if len(ss) == 0 {
		return nil
	}
	id, name, band := make([]string, len(ss)), make([]string, len(ss)), make([]string, len(ss))
	for i, s := range ss {
		id[i], name[i], band[i] = s.ID, s.Name, s.GradeBand
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO sites (district_id, site_id, name, grade_band)
		SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::text[])
		ON CONFLICT (district_id, site_id) DO UPDATE SET name = excluded.name, grade_band = excluded.grade_band, updated_at = now()
		WHERE (sites.name, sites.grade_band) IS DISTINCT FROM (excluded.name, excluded.grade_band)
		RETURNING site_id, xmax = 0`,
		district, id, name, band)
	if err != nil {
		return err
	}
	return collect(rows, c)
}

// applyStaff upserts staff rows, then replaces the site assignments of the staff in the batch;
// a staff member whose assignments changed counts as updated (and gets a new updated_at) even
// when the row itself did not change.
func applyStaff(ctx context.Context, tx pgx.Tx, district string, ss []roster.Staff, c *changeSet) error {
	if len(ss) == 0 {
		return nil
	}
	n := len(ss)
	id, given, family, email, role := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	var aid, asite []string
	for i, s := range ss {
		id[i], given[i], family[i], email[i], role[i] = s.ID, s.GivenName, s.FamilyName, s.Email, string(s.Role)
		for _, site := range s.SiteIDs {
			aid, asite = append(aid, s.ID), append(asite, site)
		}
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO staff (district_id, staff_id, given_name, family_name, email, role)
		SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
		ON CONFLICT (district_id, staff_id) DO UPDATE SET given_name = excluded.given_name,
			family_name = excluded.family_name, email = excluded.email, role = excluded.role, updated_at = now()
		WHERE (staff.given_name, staff.family_name, staff.email, staff.role)
			IS DISTINCT FROM (excluded.given_name, excluded.family_name, excluded.email, excluded.role)
		RETURNING staff_id, xmax = 0`,
		district, id, given, family, email, role)
	if err != nil {
		return err
	}
	if err := collect(rows, c); err != nil {
		return err
	}
	changed := append(append([]string{}, c.created...), c.updated...)
	rows, err = tx.Query(ctx, `
		WITH want AS (SELECT * FROM unnest($2::text[], $3::text[]) AS w(staff_id, site_id)),
		del AS (
			DELETE FROM staff_sites ss USING unnest($4::text[]) AS b(staff_id)
			WHERE ss.district_id = $1 AND ss.staff_id = b.staff_id
				AND NOT EXISTS (SELECT 1 FROM want w WHERE w.staff_id = ss.staff_id AND w.site_id = ss.site_id)
			RETURNING ss.staff_id),
		ins AS (
			INSERT INTO staff_sites (district_id, staff_id, site_id)
			SELECT $1, staff_id, site_id FROM want
			ON CONFLICT DO NOTHING
			RETURNING staff_id),
		moved AS (SELECT staff_id FROM del UNION SELECT staff_id FROM ins)
		UPDATE staff s SET updated_at = now() FROM moved m
		WHERE s.district_id = $1 AND s.staff_id = m.staff_id AND NOT (s.staff_id = ANY($5::text[]))
		RETURNING s.staff_id, false`,
		district, aid, asite, id, changed)
	if err != nil {
		return err
	}
	return collect(rows, c)
}

// applyStaffStatus writes the statuses a batch sets (OneRoster: active for listed users,
// inactive or tobedeleted for ended ones, which must already exist). A staff row of the batch
// whose status changed counts as updated; inactive and tobedeleted staff can no longer sign in.
func applyStaffStatus(ctx context.Context, tx pgx.Tx, district string, ss []roster.Staff, ended map[string]string, c *changeSet) error {
	var ids, statuses []string
	for _, s := range ss {
		if s.Status != "" {
			ids, statuses = append(ids, s.ID), append(statuses, s.Status)
		}
	}
	for id, status := range ended {
		ids, statuses = append(ids, id), append(statuses, status)
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `UPDATE staff s SET status = u.status, updated_at = now()
		FROM unnest($2::text[], $3::text[]) AS u(staff_id, status)
		WHERE s.district_id = $1 AND s.staff_id = u.staff_id AND s.status <> u.status
		RETURNING s.staff_id`, district, ids, statuses)
	if err != nil {
		return err
	}
	changed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	inBatch := map[string]bool{}
	for _, s := range ss {
		inBatch[s.ID] = true
	}
	for _, id := range changed {
		if inBatch[id] && !slices.Contains(c.created, id) && !slices.Contains(c.updated, id) {
			c.updated = append(c.updated, id)
		}
	}
	return nil
}

func applyClassrooms(ctx context.Context, tx pgx.Tx, district string, cs []observation.Classroom, c *changeSet) error {
	if len(cs) == 0 {
		return nil
	}
	n := len(cs)
	id, site, course, grade, section := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	teacher := make([]*string, n)
	for i, cl := range cs {
		id[i], site[i], course[i], grade[i], section[i] = cl.ID, cl.SiteID, cl.Course, cl.Grade, cl.Section
		if cl.TeacherID != "" {
			t := cl.TeacherID
			teacher[i] = &t
		}
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO classrooms (district_id, classroom_id, site_id, course, grade, section, teacher_id)
		SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
		ON CONFLICT (district_id, classroom_id) DO UPDATE SET site_id = excluded.site_id, course = excluded.course,
			grade = excluded.grade, section = excluded.section, teacher_id = excluded.teacher_id, updated_at = now()
		WHERE (classrooms.site_id, classrooms.course, classrooms.grade, classrooms.section, classrooms.teacher_id)
			IS DISTINCT FROM (excluded.site_id, excluded.course, excluded.grade, excluded.section, excluded.teacher_id)
		RETURNING classroom_id, xmax = 0`,
		district, id, site, course, grade, section, teacher)
	if err != nil {
		return err
	}
	return collect(rows, c)
}

// ListRosterSites returns sites of q.DistrictID in id order.
func (s *Store) ListRosterSites(ctx context.Context, q roster.Query) ([]observation.Site, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT site_id, name, grade_band, created_at, updated_at FROM sites
		WHERE district_id = $1 AND (NOT $2 OR site_id = ANY($3::text[])) AND ($4 = '' OR site_id = $4)
			AND ($5::text[] IS NULL OR site_id = ANY($5::text[])) AND site_id > $6
		ORDER BY site_id LIMIT $7`,
		q.DistrictID, q.Scoped, q.SiteIDs, q.SiteID, q.IDs, q.After, limitOf(q))
	if err != nil {
		return nil, classify(err)
	}
	out := []observation.Site{}
	var v observation.Site
	_, err = pgx.ForEachRow(rows, []any{&v.ID, &v.Name, &v.GradeBand, &v.CreatedAt, &v.UpdatedAt}, func() error {
		v.DistrictID = q.DistrictID
		out = append(out, v)
		return nil
	})
	return out, classify(err)
}

// ListRosterClassrooms returns classrooms of q.DistrictID in id order.
func (s *Store) ListRosterClassrooms(ctx context.Context, q roster.Query) ([]observation.Classroom, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT classroom_id, site_id, course, grade, section, coalesce(teacher_id, ''), created_at, updated_at FROM classrooms
		WHERE district_id = $1 AND (NOT $2 OR site_id = ANY($3::text[])) AND ($4 = '' OR site_id = $4)
			AND ($5::text[] IS NULL OR classroom_id = ANY($5::text[])) AND classroom_id > $6
		ORDER BY classroom_id LIMIT $7`,
		q.DistrictID, q.Scoped, q.SiteIDs, q.SiteID, q.IDs, q.After, limitOf(q))
	if err != nil {
		return nil, classify(err)
	}
	out := []observation.Classroom{}
	var v observation.Classroom
	_, err = pgx.ForEachRow(rows, []any{&v.ID, &v.SiteID, &v.Course, &v.Grade, &v.Section, &v.TeacherID, &v.CreatedAt, &v.UpdatedAt}, func() error {
		v.DistrictID = q.DistrictID
		out = append(out, v)
		return nil
	})
	return out, classify(err)
}

// ListRosterStaff returns staff of q.DistrictID in id order, each with their site assignments
// (within the scope, when the query is scoped).
func (s *Store) ListRosterStaff(ctx context.Context, q roster.Query) ([]roster.Staff, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT s.staff_id, s.given_name, s.family_name, s.email, s.role, s.status, s.created_at, s.updated_at,
			coalesce((SELECT array_agg(ss.site_id ORDER BY ss.site_id) FROM staff_sites ss
				WHERE ss.district_id = s.district_id AND ss.staff_id = s.staff_id
					AND (NOT $2 OR ss.site_id = ANY($3::text[]))), '{}')
		FROM staff s
		WHERE s.district_id = $1
			AND (NOT $2 OR EXISTS (SELECT 1 FROM staff_sites ss WHERE ss.district_id = s.district_id
				AND ss.staff_id = s.staff_id AND ss.site_id = ANY($3::text[])))
			AND ($4 = '' OR EXISTS (SELECT 1 FROM staff_sites ss WHERE ss.district_id = s.district_id
				AND ss.staff_id = s.staff_id AND ss.site_id = $4))
			AND ($5::text[] IS NULL OR s.staff_id = ANY($5::text[])) AND ($6 = '' OR s.role = $6) AND s.staff_id > $7
		ORDER BY s.staff_id LIMIT $8`,
		q.DistrictID, q.Scoped, q.SiteIDs, q.SiteID, q.IDs, string(q.Role), q.After, limitOf(q))
	if err != nil {
		return nil, classify(err)
	}
	out := []roster.Staff{}
	var v roster.Staff
	var role string
	_, err = pgx.ForEachRow(rows, []any{&v.ID, &v.GivenName, &v.FamilyName, &v.Email, &role, &v.Status, &v.CreatedAt, &v.UpdatedAt, &v.SiteIDs}, func() error {
		v.DistrictID, v.Role = q.DistrictID, roster.StaffRole(role)
		out = append(out, v)
		v.SiteIDs = nil
		return nil
	})
	return out, classify(err)
}

func limitOf(q roster.Query) int {
	if q.Limit <= 0 {
		return roster.DefaultPageSize
	}
	return q.Limit
}
