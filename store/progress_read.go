package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// The reads of the progress views (progress.Store) and district goals. The views read
// the aggregate rows maintained by every observation write (progress.go), never raw records;
// the aggregate reads (cells, pairs, last visits) use s.views, a replica when one is configured.

var _ progress.Store = (*Store)(nil)

// ProgressDistrict returns a district with its settings (network defaults for unset fields).
func (s *Store) ProgressDistrict(ctx context.Context, districtID string) (observation.District, error) {
	return readDistrict(ctx, s.pool, districtID, "")
}

// OptedInDistricts returns the districts whose settings opt in to network measures, by id.
func (s *Store) OptedInDistricts(ctx context.Context) ([]observation.District, error) {
	rows, err := s.pool.Query(ctx, `SELECT district_id, name, settings, updated_at FROM districts
		WHERE settings->>'network_opt_in' = 'true' ORDER BY district_id`)
	if err != nil {
		return nil, classify(err)
	}
	var out []observation.District
	var d observation.District
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.Name, &raw, &d.UpdatedAt}, func() error {
		d.Settings = observation.DefaultDistrictSettings()
		if err := json.Unmarshal(raw, &d.Settings); err != nil {
			return fmt.Errorf("district %s settings: %w", d.ID, err)
		}
		out = append(out, d)
		return nil
	})
	return out, classify(err)
}

// ProgressSites returns the sites of a district, by id.
func (s *Store) ProgressSites(ctx context.Context, districtID string) ([]observation.Site, error) {
	rows, err := s.pool.Query(ctx, `SELECT site_id, name, grade_band, created_at, updated_at FROM sites
		WHERE district_id = $1 ORDER BY site_id`, districtID)
	if err != nil {
		return nil, classify(err)
	}
	var out []observation.Site
	var v observation.Site
	_, err = pgx.ForEachRow(rows, []any{&v.ID, &v.Name, &v.GradeBand, &v.CreatedAt, &v.UpdatedAt}, func() error {
		v.DistrictID = districtID
		out = append(out, v)
		return nil
	})
	return out, classify(err)
}

// ProgressClassrooms returns the classrooms of a district's sites (nil: every site), by site
// then id.
func (s *Store) ProgressClassrooms(ctx context.Context, districtID string, sites []string) ([]observation.Classroom, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT classroom_id, site_id, course, grade, section, coalesce(teacher_id, ''), created_at, updated_at FROM classrooms
		WHERE district_id = $1 AND ($2::text[] IS NULL OR site_id = ANY($2))
		ORDER BY site_id, classroom_id`, districtID, sites)
	if err != nil {
		return nil, classify(err)
	}
	var out []observation.Classroom
	var v observation.Classroom
	_, err = pgx.ForEachRow(rows, []any{&v.ID, &v.SiteID, &v.Course, &v.Grade, &v.Section, &v.TeacherID, &v.CreatedAt, &v.UpdatedAt}, func() error {
		v.DistrictID = districtID
		out = append(out, v)
		return nil
	})
	return out, classify(err)
}

// StaffedSites returns the sites of a district (of sites; nil: every site) with a rostered
// classroom that has a teacher, by id.
func (s *Store) StaffedSites(ctx context.Context, districtID string, sites []string) ([]string, error) {
	var out []string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT site_id ORDER BY site_id), '{}') FROM classrooms
		WHERE district_id = $1 AND ($2::text[] IS NULL OR site_id = ANY($2)) AND coalesce(teacher_id, '') <> ''`,
		districtID, sites).Scan(&out)
	return out, classify(err)
}

// cellQueryArgs are the arguments $1-$5 of the cell and pair reads.
func cellQueryArgs(q progress.CellQuery) []any {
	districts, keys := q.DistrictIDs, q.Keys
	if districts == nil {
		districts = []string{}
	}
	if keys == nil {
		keys = []string{}
	}
	return []any{districts, q.RubricID, string(q.Kind), keys, q.Sites}
}

const cellWhereSQL = ` WHERE district_id = ANY($1) AND rubric_id = $2 AND period_kind = $3 AND period_key = ANY($4)
	AND ($5::text[] IS NULL OR site_id = ANY($5))`

// ProgressCells returns the cell rows (or, when q.BySite, the site rows) matching q: the rows of
// progress_cells plus the deltas of pushes still in the log (progress_log.go), summed by cell, in
// one snapshot (one statement), so a view sees every committed write whether or not it was
// compacted yet. Rows with no observations left are not returned; counters inside a row may be
// 0.
func (s *Store) ProgressCells(ctx context.Context, q progress.CellQuery) ([]progress.CellRow, error) {
	rows, err := s.views.Query(ctx, progressCellsSQL(q.BySite), progressCellsArgs(q)...)
	if err != nil {
		return nil, classify(err)
	}
	// The rows are read in place (DriverBytes) and their strings shared (dec.name): a view reads
	// tens of thousands of rows with a few dozen distinct key values.
	var fromLog bool
	var r scannedCell
	var out cellRows
	dec := newMetricsDecoder()
	_, err = pgx.ForEachRow(rows, append([]any{&fromLog}, r.targets()...), func() error {
		return out.add(&r, dec, fromLog, q.BySite)
	})
	if err != nil {
		return nil, classify(err)
	}
	return out.rows(), nil
}

// scannedCell is a row of progress_cells or of the log as a statement returns it (key columns,
// rev, counters), read in place.
type scannedCell struct {
	district, kind, period, site, room, teacher, rubric, raw pgtype.DriverBytes
	rev                                                      int64
}

func (r *scannedCell) targets() []any {
	return []any{&r.district, &r.kind, &r.period, &r.site, &r.room, &r.teacher, &r.rubric, &r.rev, &r.raw}
}

// row returns the row with its strings shared through dec and its counters decoded (nil when
// the statement sent none: a held row unchanged).
func (r *scannedCell) row(dec *metricsDecoder) (progress.CellRow, error) {
	c := progress.CellRow{CellKey: progress.CellKey{DistrictID: dec.name(r.district), Kind: progress.PeriodKind(dec.name(r.kind)),
		PeriodKey: dec.name(r.period), SiteID: dec.name(r.site), ClassroomID: dec.name(r.room), TeacherID: dec.name(r.teacher),
		RubricID: dec.name(r.rubric)}, Rev: r.rev}
	if r.raw != nil {
		m, err := dec.decode(r.raw)
		if err != nil {
			return c, err
		}
		c.M = m
	}
	return c, nil
}

// cellRows gathers the rows of a view statement: stored rows, and the log's rows to add to them.
type cellRows struct{ cells, logged []progress.CellRow }

// add appends the row r holds; a log row is moved to its site row's key when bySite.
func (o *cellRows) add(r *scannedCell, dec *metricsDecoder, fromLog, bySite bool) error {
	c, err := r.row(dec)
	if err != nil {
		return err
	}
	if !fromLog {
		o.cells = append(o.cells, c)
		return nil
	}
	if bySite {
		c.CellKey, c.M = progress.SiteKey(c.CellKey), progress.SiteMetrics(c.CellKey, c.M)
	}
	o.logged = append(o.logged, c)
	return nil
}

// rows returns the stored rows with the log's added (addLogged).
func (o *cellRows) rows() []progress.CellRow { return addLogged(o.cells, o.logged) }

// addLogged adds the log's rows to their cells (each cell is one row of progress_cells), appends
// those that add to no stored row, and leaves out the rows with no observations.
func addLogged(cells, logged []progress.CellRow) []progress.CellRow {
	if len(logged) > 0 {
		index := make(map[progress.CellKey]int, len(cells)) // position in cells of each cell
		for i, c := range cells {
			index[c.CellKey] = i
		}
		for _, c := range logged {
			if i, ok := index[c.CellKey]; ok {
				// Never a row without counters: the statement sends them for every row a
				// logged delta adds to.
				cells[i].M.Add(c.M, 1)
				cells[i].Rev = 0 // no longer the stored version alone
				continue
			}
			index[c.CellKey] = len(cells)
			cells = append(cells, c)
		}
	}
	kept := cells[:0]
	for _, c := range cells {
		if c.M == nil || c.M.Observations() > 0 {
			kept = append(kept, c)
		}
	}
	return kept
}

// progressCellsSQL is ProgressCells' statement: the stored rows (site rows when bySite), then the
// log's rows, with the arguments of progressCellsArgs.
func progressCellsSQL(bySite bool) string {
	// The site rows' condition is written out (not a parameter), so that every plan of the
	// statement can use the partial index of site rows (progress_site_rows_idx).
	rowsOp := "<>"
	if bySite {
		rowsOp = "="
	}
	return `WITH logged AS MATERIALIZED (
			SELECT l.district_id, substr(p, length($3) + 2) AS period_key, l.site_id, l.classroom_id, l.teacher_id, l.rubric_id, l.m
			FROM progress_delta_log l, unnest(l.periods) AS p` + logWhereSQL + `)
		SELECT false, c.district_id, c.period_kind, c.period_key, c.site_id, c.classroom_id, c.teacher_id, c.rubric_id, c.rev, c.m
		FROM progress_cells c` + cellWhereSQL + ` AND c.classroom_id ` + rowsOp + ` ''
		UNION ALL SELECT true, district_id, $3, period_key, site_id, classroom_id, teacher_id, rubric_id, 0, m FROM logged`
}

// progressCellsArgs are the arguments of progressCellsSQL.
func progressCellsArgs(q progress.CellQuery) []any {
	return append(cellQueryArgs(q), logPeriods(q))
}

// ProgressPairs returns the pair rows matching q.
func (s *Store) ProgressPairs(ctx context.Context, q progress.CellQuery) ([]progress.PairRow, error) {
	rows, err := s.views.Query(ctx, `SELECT district_id, period_kind, period_key, site_id, observer_a, observer_b, rubric_id, m
		FROM progress_pairs`+cellWhereSQL, cellQueryArgs(q)...)
	if err != nil {
		return nil, classify(err)
	}
	var out []progress.PairRow
	var p progress.PairRow
	var kind string
	var raw []byte
	dec := newMetricsDecoder()
	_, err = pgx.ForEachRow(rows, []any{&p.DistrictID, &kind, &p.PeriodKey, &p.SiteID, &p.ObserverA, &p.ObserverB, &p.RubricID, &raw}, func() error {
		p.Kind = progress.PeriodKind(kind)
		m, err := dec.decode(raw)
		if err != nil {
			return err
		}
		p.M = m
		out = append(out, p)
		return nil
	})
	return out, classify(err)
}

// LastVisits returns, for each of the classrooms with an observation on the rubric before the
// instant, the UTC date of its latest one, read from the day rows of progress_cells (and the
// deltas still in the log). A visit counts as before the instant when its date's UTC
// midnight is: with before at a UTC midnight, the dates strictly before that date.
func (s *Store) LastVisits(ctx context.Context, districtID, rubricID string, classroomIDs []string, before time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(classroomIDs) == 0 {
		return out, nil
	}
	rows, err := s.views.Query(ctx, `
		SELECT classroom_id, max(period_key) FROM (
			SELECT classroom_id, period_key FROM (
				SELECT classroom_id, period_key, m FROM progress_cells WHERE district_id = $1 AND rubric_id = $2
					AND period_kind = 'day' AND classroom_id = ANY($3) AND period_key <= $4
				UNION ALL SELECT classroom_id, substr(p, 5), m FROM progress_delta_log, unnest(periods) AS p
				WHERE district_id = $1 AND rubric_id = $2 AND classroom_id = ANY($3) AND p LIKE 'day/%' AND substr(p, 5) <= $4) AS r
			GROUP BY classroom_id, period_key HAVING sum(`+observationsSQL("m")+`) > 0) AS d
		GROUP BY classroom_id`, districtID, rubricID, classroomIDs, lastDayBefore(before))
	if err != nil {
		return nil, classify(err)
	}
	var id, key string
	_, err = pgx.ForEachRow(rows, []any{&id, &key}, func() error {
		day, err := time.Parse(time.DateOnly, key)
		if err != nil {
			return fmt.Errorf("day row %s of classroom %s: %w", key, id, err)
		}
		out[id] = day
		return nil
	})
	return out, classify(err)
}

// lastDayBefore is the latest UTC date whose midnight is before the instant, as a day key.
func lastDayBefore(t time.Time) string {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !day.Before(t) {
		day = day.AddDate(0, 0, -1)
	}
	return day.Format(time.DateOnly)
}

// RubricSeriesVersions returns the published and retired versions of a rubric, ascending.
func (s *Store) RubricSeriesVersions(ctx context.Context, rubricID string) ([]observation.RubricVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT district_id, rubric_id, version, status,
			CASE WHEN content_hash = ANY($2) THEN NULL ELSE content END,
			content_hash, created_by, created_at, updated_at, published_at, retired_at
		FROM rubric_versions WHERE rubric_id = $1 AND status <> 'draft' ORDER BY version`, rubricID, s.rubricHashes())
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []observation.RubricVersion
	for rows.Next() {
		v, err := scanVersionWith(rows, &s.rubrics)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	if len(out) == 0 {
		return nil, notFoundVersion(rubricID, 0)
	}
	return out, nil
}

const goalColumns = `district_id, goal_id::text, site_id, title, rubric_id, dimension, measure, target, target_date,
	baseline_kind, baseline_key, period_kind, created_by, created_at, updated_at`

func scanGoal(row pgx.Row) (progress.Goal, error) {
	var g progress.Goal
	var measure, baseline, period string
	err := row.Scan(&g.DistrictID, &g.ID, &g.SiteID, &g.Title, &g.RubricID, &g.Dimension, &measure, &g.Target, &g.TargetDate,
		&baseline, &g.BaselineKey, &period, &g.CreatedBy, &g.CreatedAt, &g.UpdatedAt)
	g.Measure, g.BaselineKind, g.PeriodKind = progress.GoalMeasure(measure), progress.PeriodKind(baseline), progress.PeriodKind(period)
	g.TargetDate = time.Date(g.TargetDate.Year(), g.TargetDate.Month(), g.TargetDate.Day(), 0, 0, 0, 0, time.UTC)
	return g, err
}

// Goals returns a district's goals, oldest first.
func (s *Store) Goals(ctx context.Context, districtID string) ([]progress.Goal, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+goalColumns+` FROM progress_goals WHERE district_id = $1
		ORDER BY created_at, goal_id`, districtID)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []progress.Goal
	for rows.Next() {
		g, err := scanGoal(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, g)
	}
	return out, classify(rows.Err())
}

// Goal returns one goal of a district.
func (s *Store) Goal(ctx context.Context, districtID, goalID string) (progress.Goal, error) {
	if !observation.IsUUID(goalID) {
		return progress.Goal{}, observation.NotFound("goal", goalID)
	}
	g, err := scanGoal(s.pool.QueryRow(ctx, `SELECT `+goalColumns+` FROM progress_goals
		WHERE district_id = $1 AND goal_id = $2`, districtID, goalID))
	if errors.Is(err, pgx.ErrNoRows) {
		return g, observation.NotFound("goal", goalID)
	}
	return g, classify(err)
}

// SaveGoal creates g, or (update) replaces the stored goal with g's id, keeping its creator and
// creation time, and writes the audit entry in the same transaction. A zero CreatedAt or
// UpdatedAt is the server's clock.
func (s *Store) SaveGoal(ctx context.Context, g progress.Goal, update bool, audit observation.AuditEntry) (progress.Goal, error) {
	if !observation.IsUUID(g.ID) {
		if update {
			return progress.Goal{}, observation.NotFound("goal", g.ID)
		}
		return progress.Goal{}, observation.Invalid("goal.id", observation.ReasonBadID, "goal id %q is not a lowercase UUID", g.ID)
	}
	var created, updated *time.Time
	if !g.CreatedAt.IsZero() {
		created = &g.CreatedAt
	}
	if !g.UpdatedAt.IsZero() {
		updated = &g.UpdatedAt
	}
	target := time.Date(g.TargetDate.Year(), g.TargetDate.Month(), g.TargetDate.Day(), 0, 0, 0, 0, time.UTC)
	var out progress.Goal
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		// Goal writes of one district take turns, so two creates of the same goal (a retried POST,
		// two admins at once) find each other.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('progress_goals:' || $1, 0))`, g.DistrictID); err != nil {
			return err
		}
		same, err := scanGoal(tx.QueryRow(ctx, `SELECT `+goalColumns+` FROM progress_goals
			WHERE district_id = $1 AND goal_id <> $2 AND site_id = $3 AND rubric_id = $4 AND dimension = $5 AND measure = $6
				AND target = $7 AND target_date = $8 AND baseline_kind = $9 AND baseline_key = $10 AND period_kind = $11
			ORDER BY created_at, goal_id LIMIT 1`,
			g.DistrictID, g.ID, g.SiteID, g.RubricID, g.Dimension, string(g.Measure), g.Target, target,
			string(g.BaselineKind), g.BaselineKey, string(g.PeriodKind)))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case !update && same.Title == g.Title:
			out = same // the same goal again: answer the stored one, write nothing
			return nil
		default:
			return &observation.Error{Kind: observation.KindAlreadyExists, Reason: progress.ReasonGoalExists, Field: "goal",
				Message: fmt.Sprintf("goal %s (%s) already sets this target for the same dimension, measure, scope, date and periods; change that goal instead",
					same.ID, observation.Clip(same.Title))}
		}
		if update {
			out, err = scanGoal(tx.QueryRow(ctx, `UPDATE progress_goals SET site_id = $3, title = $4, rubric_id = $5,
					dimension = $6, measure = $7, target = $8, target_date = $9, baseline_kind = $10, baseline_key = $11,
					period_kind = $12, updated_at = coalesce($13, now())
				WHERE district_id = $1 AND goal_id = $2 RETURNING `+goalColumns,
				g.DistrictID, g.ID, g.SiteID, g.Title, g.RubricID, g.Dimension, string(g.Measure), g.Target, target,
				string(g.BaselineKind), g.BaselineKey, string(g.PeriodKind), updated))
			if errors.Is(err, pgx.ErrNoRows) {
				return observation.NotFound("goal", g.ID)
			}
		} else {
			out, err = scanGoal(tx.QueryRow(ctx, `INSERT INTO progress_goals (district_id, goal_id, site_id, title, rubric_id,
					dimension, measure, target, target_date, baseline_kind, baseline_key, period_kind, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, coalesce($14, now()), coalesce($15, $14, now()))
				RETURNING `+goalColumns,
				g.DistrictID, g.ID, g.SiteID, g.Title, g.RubricID, g.Dimension, string(g.Measure), g.Target, target,
				string(g.BaselineKind), g.BaselineKey, string(g.PeriodKind), g.CreatedBy, created, updated))
		}
		if err != nil {
			return err
		}
		if audit.Action == "" {
			return nil
		}
		return insertAudit(ctx, tx, audit)
	})
	if err != nil {
		return progress.Goal{}, err
	}
	return out, nil
}
