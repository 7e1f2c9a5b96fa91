package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
)

// Roster is a batch of roster rows to upsert together.
type Roster struct {
	Districts  []observation.District
	Sites      []observation.Site
	Classrooms []observation.Classroom
	Staff      []roster.Staff
	// NetworkStaff are network-level people (admins, network analysts).
	NetworkStaff []identity.NetworkStaff
}

// UpsertRoster writes a roster in one transaction, one statement per table (unnest arrays, no
// per-row round trips). Re-running it with the same rows changes nothing but updated_at of rows
// whose values changed. Staff site assignments are replaced by the ones given.
func (s *Store) UpsertRoster(ctx context.Context, r Roster) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		if err := upsertDistricts(ctx, tx, r.Districts); err != nil {
			return err
		}
		if err := upsertSites(ctx, tx, r.Sites); err != nil {
			return err
		}
		if err := upsertStaff(ctx, tx, r.Staff); err != nil {
			return err
		}
		if err := upsertNetworkStaff(ctx, tx, r.NetworkStaff); err != nil {
			return err
		}
		return upsertClassrooms(ctx, tx, r.Classrooms)
	})
}

// SeedRoster loads a roster for seeding: it creates the districts of r that do not exist yet,
// each with its sites, staff and classrooms, in one transaction, and leaves every district that
// exists already exactly as it is (its settings, sites, staff, assignments and classrooms may have
// been changed by the district since). It returns the ids of the districts it created.
func (s *Store) SeedRoster(ctx context.Context, r Roster) (created []string, err error) {
	err = s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		created = created[:0]
		ids, names, settings := make([]string, len(r.Districts)), make([]string, len(r.Districts)), make([]string, len(r.Districts))
		for i, d := range r.Districts {
			b, err := json.Marshal(d.Settings)
			if err != nil {
				return err
			}
			ids[i], names[i], settings[i] = d.ID, d.Name, string(b)
		}
		rows, err := tx.Query(ctx, `
			INSERT INTO districts (district_id, name, settings)
			SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
			ON CONFLICT (district_id) DO NOTHING
			RETURNING district_id`, ids, names, settings)
		if err != nil {
			return err
		}
		if created, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		isNew := map[string]bool{}
		for _, d := range created {
			isNew[d] = true
		}
		var sites []observation.Site
		for _, x := range r.Sites {
			if isNew[x.DistrictID] {
				sites = append(sites, x)
			}
		}
		var staff []roster.Staff
		for _, x := range r.Staff {
			if isNew[x.DistrictID] {
				staff = append(staff, x)
			}
		}
		var classrooms []observation.Classroom
		for _, x := range r.Classrooms {
			if isNew[x.DistrictID] {
				classrooms = append(classrooms, x)
			}
		}
		if err := upsertSites(ctx, tx, sites); err != nil {
			return err
		}
		if err := upsertStaff(ctx, tx, staff); err != nil {
			return err
		}
		// Network-level people are added when missing, never changed (an admin may have).
		for _, p := range r.NetworkStaff {
			if _, err := tx.Exec(ctx, `INSERT INTO network_staff (staff_id, given_name, family_name, email, role)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, p.StaffID, p.GivenName, p.FamilyName, p.Email, string(p.Role)); err != nil {
				return err
			}
		}
		return upsertClassrooms(ctx, tx, classrooms)
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

func upsertDistricts(ctx context.Context, tx pgx.Tx, ds []observation.District) error {
	if len(ds) == 0 {
		return nil
	}
	ids, names, settings := make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		b, err := json.Marshal(d.Settings)
		if err != nil {
			return err
		}
		ids[i], names[i], settings[i] = d.ID, d.Name, string(b)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO districts (district_id, name, settings)
		SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
		ON CONFLICT (district_id) DO UPDATE SET name = excluded.name, settings = excluded.settings, updated_at = now()
		WHERE (districts.name, districts.settings) IS DISTINCT FROM (excluded.name, excluded.settings)`,
		ids, names, settings)
	return err
}

func upsertSites(ctx context.Context, tx pgx.Tx, ss []observation.Site) error {
	if len(ss) == 0 {
		return nil
	}
	d, id, name, band := make([]string, len(ss)), make([]string, len(ss)), make([]string, len(ss)), make([]string, len(ss))
	for i, s := range ss {
		d[i], id[i], name[i], band[i] = s.DistrictID, s.ID, s.Name, s.GradeBand
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO sites (district_id, site_id, name, grade_band)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
		ON CONFLICT (district_id, site_id) DO UPDATE SET name = excluded.name, grade_band = excluded.grade_band, updated_at = now()
		WHERE (sites.name, sites.grade_band) IS DISTINCT FROM (excluded.name, excluded.grade_band)`,
		d, id, name, band)
	return err
}

func upsertStaff(ctx context.Context, tx pgx.Tx, ss []roster.Staff) error {
	if len(ss) == 0 {
		return nil
	}
	n := len(ss)
	d, id, given, family, email, role := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	var ad, aid, asite []string
	for i, s := range ss {
		d[i], id[i], given[i], family[i], email[i], role[i] = s.DistrictID, s.ID, s.GivenName, s.FamilyName, s.Email, string(s.Role)
		for _, site := range s.SiteIDs {
			ad, aid, asite = append(ad, s.DistrictID), append(aid, s.ID), append(asite, site)
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO staff (district_id, staff_id, given_name, family_name, email, role)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
		ON CONFLICT (district_id, staff_id) DO UPDATE SET given_name = excluded.given_name,
			family_name = excluded.family_name, email = excluded.email, role = excluded.role, updated_at = now()
		WHERE (staff.given_name, staff.family_name, staff.email, staff.role)
			IS DISTINCT FROM (excluded.given_name, excluded.family_name, excluded.email, excluded.role)`,
		d, id, given, family, email, role); err != nil {
		return err
	}
	// Replace the assignments of the staff in this batch with the ones given.
	if _, err := tx.Exec(ctx, `
		DELETE FROM staff_sites ss USING unnest($1::text[], $2::text[]) AS b(district_id, staff_id)
		WHERE ss.district_id = b.district_id AND ss.staff_id = b.staff_id
			AND NOT EXISTS (SELECT 1 FROM unnest($3::text[], $4::text[], $5::text[]) AS a(district_id, staff_id, site_id)
				WHERE a.district_id = ss.district_id AND a.staff_id = ss.staff_id AND a.site_id = ss.site_id)`,
		d, id, ad, aid, asite); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO staff_sites (district_id, staff_id, site_id)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
		ON CONFLICT DO NOTHING`, ad, aid, asite)
	return err
}

func upsertClassrooms(ctx context.Context, tx pgx.Tx, cs []observation.Classroom) error {
	if len(cs) == 0 {
		return nil
	}
	n := len(cs)
	d, id, site, course, grade, section := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	teacher := make([]*string, n)
	for i, c := range cs {
		d[i], id[i], site[i], course[i], grade[i], section[i] = c.DistrictID, c.ID, c.SiteID, c.Course, c.Grade, c.Section
		if c.TeacherID != "" {
			t := c.TeacherID
			teacher[i] = &t
		}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO classrooms (district_id, classroom_id, site_id, course, grade, section, teacher_id)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
		ON CONFLICT (district_id, classroom_id) DO UPDATE SET site_id = excluded.site_id, course = excluded.course,
			grade = excluded.grade, section = excluded.section, teacher_id = excluded.teacher_id, updated_at = now()
		WHERE (classrooms.site_id, classrooms.course, classrooms.grade, classrooms.section, classrooms.teacher_id)
			IS DISTINCT FROM (excluded.site_id, excluded.course, excluded.grade, excluded.section, excluded.teacher_id)`,
		d, id, site, course, grade, section, teacher)
	return err
}

// RosterCounts counts districts, sites, classrooms and staff (for seeding reports and tests).
func (s *Store) RosterCounts(ctx context.Context) (districts, sites, classrooms, staff int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM districts), (SELECT count(*) FROM sites),
		(SELECT count(*) FROM classrooms), (SELECT count(*) FROM staff)`).Scan(&districts, &sites, &classrooms, &staff)
	return districts, sites, classrooms, staff, classify(err)
}

// EnsurePublishedRubric stores v (status published) as a new rubric unless a rubric with that id
// exists already; seeding is idempotent and never touches a rubric someone has edited.
func (s *Store) EnsurePublishedRubric(ctx context.Context, v observation.RubricVersion) (created bool, err error) {
	err = s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO rubrics (district_id, rubric_id, created_by, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, v.OwnerID, v.RubricID, v.CreatedBy, v.CreatedAt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		created = true
		return insertVersion(ctx, tx, v)
	})
	return created, err
}
